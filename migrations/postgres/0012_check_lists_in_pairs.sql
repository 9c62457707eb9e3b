-- Version 11 -> 12 on PostgreSQL: nothing changes. The step is SQLite's alone
-- (migrations/0012_check_lists_in_pairs.sql: CHECK lists SQLite tested slowly); PostgreSQL tests
-- the lists as they were, and its schema moves to version 12 with SQLite's. Never edit this file
-- once a release has shipped it.
SELECT 1;
