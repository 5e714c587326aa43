"""The HealthDCAT-AP metadata catalogue of NPR and KPR (catalogue issue)."""
