//! A stateful HaloPSA simulator (to be written).
