-- Version 10 -> 11 on PostgreSQL: nothing changes. The step is SQLite's alone
-- (migrations/0011_assignment_status_pairs.sql: a CHECK SQLite tested slowly); PostgreSQL tests
-- the list as it was, and its schema moves to version 11 with SQLite's. Never edit this file once
-- a release has shipped it.
SELECT 1;
