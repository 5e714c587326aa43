"""The opt-out registry (EHDS Art. 71): citizens opt out and back in; external registries import."""
