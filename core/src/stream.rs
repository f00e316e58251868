//! Memory object streams (issue 6: being built).
