//! The changes made while the reader is away: new messages, edits,
//! deletions, reactions added and taken back, drawn at random (repeatably)
//! and aimed mostly at the newest messages, as people do. Each is one that
//! the server logs: an edit or deletion by the message's author, a reaction
//! only where that person has not put that emoji (or has, to take it back).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::client::{Body, Text, chat_text};

/// Emoji people react with: single code points, so none is normalized.
const EMOJI: [&str; 8] = ["🎉", "👍", "😂", "🙏", "👀", "🚀", "💯", "🔥"];
/// Reactions and edits go to one of this many newest live messages.
const RECENT: usize = 100;
/// Out of 100 changes: new messages, edits, deletions, reactions added;
/// the rest are reactions taken back.
const NEW: u64 = 8;
const EDIT: u64 = 12;
const DELETE: u64 = 3;
const REACT_ON: u64 = 52;

/// One change: who makes it, and the client frame.
pub struct Change {
    pub person: usize,
    pub frame: Value,
}

/// What the mix knows of a live message.
struct Live {
    seq: u64,
    author: usize,
    /// (emoji, person) pairs on it.
    reactions: BTreeSet<(usize, usize)>,
}

/// Draws changes for `people` people, given the seqs of the messages
/// already there and who wrote them.
pub struct Mix {
    people: usize,
    live: Vec<Live>,
    seed: u64,
    made: u64,
}

impl Mix {
    pub fn new(people: usize, existing: impl IntoIterator<Item = (u64, usize)>) -> Mix {
        Mix {
            people,
            live: existing
                .into_iter()
                .map(|(seq, author)| Live {
                    seq,
                    author,
                    reactions: BTreeSet::new(),
                })
                .collect(),
            seed: 0x9E37_79B9_7F4A_7C15,
            made: 0,
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        // xorshift: cheap, repeatable.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed % below.max(1)
    }

    /// A text for change `n`: plain and markdown chat by turns.
    fn text(&self, n: u64) -> String {
        let text = if n.is_multiple_of(2) {
            Text::Plain
        } else {
            Text::Markdown
        };
        chat_text(n, 0, self.people, Body { text, size: 0 })
    }

    /// One of the newest live messages, the newest most often.
    fn target(&mut self) -> Option<usize> {
        let recent = self.live.len().min(RECENT) as u64;
        let back = self.random(recent).min(self.random(recent));
        (self.live.len() as u64)
            .checked_sub(back + 1)
            .map(|i| i as usize)
    }

    /// The next change. A message's seq is learnt from its answer, through
    /// [`Mix::stored`], before the next change is drawn.
    pub fn next(&mut self) -> Change {
        self.made += 1;
        let cid = format!("c{}", self.made);
        let roll = self.random(100);
        let target = self.target();
        let (Some(index), false) = (target, roll < NEW) else {
            let person = self.random(self.people as u64) as usize;
            let message = self.text(self.made);
            return Change {
                person,
                frame: json!({"type":"message","message":message,"cid":cid}),
            };
        };
        let seq = self.live[index].seq;
        let author = self.live[index].author;
        if roll < NEW + EDIT {
            let message = format!("{} (edited)", self.text(self.made));
            return Change {
                person: author,
                frame: json!({"type":"edit","target":seq,"message":message,"cid":cid}),
            };
        }
        if roll < NEW + EDIT + DELETE {
            self.live.remove(index);
            return Change {
                person: author,
                frame: json!({"type":"delete","target":seq,"cid":cid}),
            };
        }
        let emoji = self.random(EMOJI.len() as u64) as usize;
        let person = self.random(self.people as u64) as usize;
        let reactions = &mut self.live[index].reactions;
        // Take back one that is there, or add one that is not.
        let wants_on = roll < NEW + EDIT + DELETE + REACT_ON || reactions.is_empty();
        let (pair, on) = if wants_on && !reactions.contains(&(emoji, person)) {
            ((emoji, person), true)
        } else if wants_on {
            let free = (0..EMOJI.len() * self.people)
                .map(|i| (i % EMOJI.len(), i / EMOJI.len()))
                .find(|pair| !reactions.contains(pair));
            match free {
                Some(pair) => (pair, true),
                None => (*reactions.iter().next().expect("all are there"), false),
            }
        } else {
            let nth = (emoji + person) % reactions.len();
            (*reactions.iter().nth(nth).expect("in range"), false)
        };
        if on {
            reactions.insert(pair);
        } else {
            reactions.remove(&pair);
        }
        Change {
            person: pair.1,
            frame: json!({"type":"react","target":seq,"emoji":EMOJI[pair.0],"on":on,"cid":cid}),
        }
    }

    /// Records the answer to a change: a new message joins the live ones.
    pub fn stored(&mut self, change: &Change, answer: &Value) {
        if change.frame["type"] == "message" {
            self.live.push(Live {
                seq: answer["seq"].as_u64().unwrap_or_default(),
                author: change.person,
                reactions: BTreeSet::new(),
            });
        }
    }
}
