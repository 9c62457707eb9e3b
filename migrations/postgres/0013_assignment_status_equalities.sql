-- Version 12 -> 13 on PostgreSQL: nothing changes. The step is SQLite's alone
-- (migrations/0013_assignment_status_equalities.sql: a CHECK SQLite tested slowly); PostgreSQL
-- tests the list as it was, and its schema moves to version 13 with SQLite's. Never edit this
-- file once a release has shipped it.
SELECT 1;
