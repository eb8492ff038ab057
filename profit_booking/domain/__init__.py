"""Pure domain: value types, money, pyramid rules and chain transitions. No I/O here."""
