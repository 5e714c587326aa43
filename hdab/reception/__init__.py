"""Reception of daily change-based reports from health services into the versioned registry (issue 20)."""
