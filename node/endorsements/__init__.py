"""Joint endorsements: proposed here or by allies, co-signed, verifiable by anyone."""
