"""The lending desk: borrowers, the circulation rules, loans, copies and the registers."""
