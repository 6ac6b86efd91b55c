//! Outbound Messages (to be filled in).
