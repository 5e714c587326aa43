"""Data access applications (Art. 67), statistics requests (Art. 69) and permits (Art. 68)."""
