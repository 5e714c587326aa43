"""From permit to minimised, opt-out-filtered, pseudonymised delivery (extract issue)."""
