//! The patch queue: commits of a range or patch files, classified into topics.
