"""RDF for the catalogue: namespaces, layered profiles (record <-> graph), safe parsing, SHACL."""
