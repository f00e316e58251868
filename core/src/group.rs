//! Task groups (issue 5: being built).
