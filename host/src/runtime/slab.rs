//! The connections of one I/O thread: a slab keyed by slot (the connection's mio token), with a
//! generation per slot so that a message for a connection that closed never reaches the next one
//! to use its slot.

use super::conn::Conn;
use crate::msg::ConnId;

/// Connections of one I/O thread, keyed by slot (the mio token), with a generation per slot so
/// that a message for a connection that closed never reaches the next one in its slot.
pub struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

struct Slot {
    generation: u16,
    conn: Option<Conn>,
}

impl Slab {
    pub fn new() -> Slab {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// A free slot and its current generation.
    pub fn vacant(&mut self) -> (usize, u16) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                generation: 0,
                conn: None,
            });
            self.slots.len() - 1
        });
        (slot, self.slots[slot].generation)
    }

    /// Fills the slot handed out by [`Slab::vacant`].
    pub fn fill(&mut self, slot: usize, conn: Conn) {
        self.slots[slot].conn = Some(conn);
        self.live += 1;
    }

    /// Gives back a slot from [`Slab::vacant`] that was not filled.
    pub fn release(&mut self, slot: usize) {
        self.free.push(slot);
    }

    pub fn by_slot(&mut self, slot: usize) -> Option<&mut Conn> {
        self.slots.get_mut(slot)?.conn.as_mut()
    }

    /// The connection `id` names, unless it has closed since.
    pub fn by_id(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.slot())?;
        match &mut slot.conn {
            Some(c) if c.id == id => Some(c),
            _ => None,
        }
    }

    /// Takes the connection out and retires the slot's generation.
    pub fn remove(&mut self, slot: usize) -> Option<Conn> {
        let s = self.slots.get_mut(slot)?;
        let conn = s.conn.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
        Some(conn)
    }

    /// Open connections.
    pub fn count(&self) -> usize {
        self.live
    }

    /// Slots holding a connection.
    pub fn slots(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].conn.is_some())
            .collect()
    }
}

impl Default for Slab {
    fn default() -> Self {
        Slab::new()
    }
}
