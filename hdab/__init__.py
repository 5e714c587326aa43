"""hdab: the software a Health Data Access Body runs for NPR and KPR under the EHDS."""

__version__ = "0.1.0"
