//! A stateful ConnectWise Manage simulator (to be written).
