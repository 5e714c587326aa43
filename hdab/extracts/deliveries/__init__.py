"""Deliveries into the secure analysis room: recipients fetch them, confirm receipt; deleted when due."""
