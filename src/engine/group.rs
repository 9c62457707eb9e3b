//! Commands grouped into one transaction (see [`crate::store::Db::begin_group`]): the engine's
//! side, which `serve`'s engine thread drives. Between [`Engine::open_group`] and
//! [`Engine::close_group`] every command runs in a savepoint of the group's transaction; what
//! a command keeps in memory from inside it (the roster it loaded) is forgotten should the
//! group not commit.

use crate::error::DispatchResult;
use crate::store::db::Backend;

use super::Engine;

impl Engine {
    /// Whether this engine's database can group commands (SQLite).
    pub fn can_group(&self) -> bool {
        self.db.backend() == Backend::Sqlite
    }

    /// Whether a group is open.
    pub fn in_group(&self) -> bool {
        self.grouped
    }

    /// Opens a group: the write lock is taken now and held until [`Engine::close_group`].
    /// The log is caught up first, as before any write transaction (no checkpoint can run
    /// inside one).
    pub fn open_group(&mut self) -> DispatchResult<()> {
        debug_assert!(self.can_group() && !self.grouped);
        if let Some(checkpointer) = &self._checkpointer {
            checkpointer.catch_up(&self.db);
        }
        self.db.begin_group()?;
        self.grouped = true;
        Ok(())
    }

    /// Commits the group. On an error nothing of it stands, and the commands run in it must be
    /// answered with that error, whatever each of them returned.
    pub fn close_group(&mut self) -> DispatchResult<()> {
        if !self.grouped {
            return Ok(());
        }
        self.grouped = false;
        let committed = self.db.commit_group();
        if committed.is_err() {
            // Loaded inside the group, it may hold changes that never happened.
            self.roster = None;
        }
        Ok(committed?)
    }
}
