//! Who is connected: each user's sessions, the presence watchers, the accounts whose mailbox
//! is being written or drained, and a bounded record of why recent connections closed.
//!
//! One `std::sync::RwLock` guards the map: relays to connected users only read it (many at
//! once); joins, leaves, logins and relays to accounts that are away write it. It is never
//! held across an `.await`; under it we only queue frames, which never waits, so one stuck
//! client can never stall the lock.
//!
//! An anonymous user is one connection. An account is every connection logged in as it (its
//! sessions): presence shows it from its first session to the end of its last, and a relay to
//! it reaches each session that is *live*. A session that logs in while no other is live
//! first drains the mailbox ([`Registry::try_go_live`] says when it may stop); until then relays
//! to the account go to the store, so what was sent before arrives before what is sent after.
//!
//! A session of an account that closes hands the relays it did not write to the mailbox
//! (`crate::writer`); from its close until they are there, the account is *rescuing*: relays
//! to it wait before their mailbox write ([`Registry::rescuing`]) and no drain goes live, so
//! the handed-over relays keep their place ahead of what came after them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use foldhash::HashMap;
use shared::account::{PeerInfo, FIRST_ACCOUNT_ID};
use shared::{HubMsg, RequestId, UserId, LIST_CHUNK, LIST_VERSION, PRESENCE_VERSION};
use smallvec::SmallVec;
use tokio::sync::Notify;

use tokio::sync::mpsc::Sender;

use crate::close::CloseReason;
use crate::cluster::ids::Leases;
use crate::cluster::presence::Numbered;
use crate::cluster::wire::{Change, RelayAnswer};
use crate::connection::ACCOUNTS_VERSION;
use crate::frame::encode as frame;
use crate::peer::Peer;
use crate::queue::PushError;
use crate::stats::Stats;

/// A connection, whoever it is logged in as: the anonymous id it was given when it connected.
pub(crate) type ConnId = UserId;

/// How many close records are kept: enough to debug a burst, small enough to forget.
pub(crate) const CLOSE_RECORD_LEN: usize = 1024;

/// What became of a relay's receivers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Routed {
    /// How many had the frame queued.
    pub delivered: u32,
    /// Ids that are not connected, in the order the relay named them.
    pub unknown: Vec<UserId>,
    /// Ids that were too slow (or already closing) and did not get it, in the order named.
    pub dropped: Vec<UserId>,
    /// Accounts with no live session, in the order named: the message is for their mailbox.
    /// Each is counted in [`Registry::write_done`]'s pending writes until the caller reports
    /// the write done.
    pub offline: Vec<UserId>,
    /// Receivers present through other hubs of the cluster, once per hub they are on: for
    /// `crate::cluster::relay` to send on.
    pub remote: Vec<RemoteTo>,
}

/// A receiver of a relay on another hub of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteTo {
    /// The hub it is on.
    pub hub: u64,
    pub id: UserId,
    /// Already counted delivered here (an account with sessions on this hub too): what the
    /// other hub answers for it is not counted again.
    pub counted: bool,
}

/// Where anonymous ids come from: a counter of this hub's own, or blocks leased from the
/// cluster (`crate::cluster::ids`).
#[derive(Debug)]
pub(crate) enum Ids {
    Local(AtomicU64),
    Leased(Arc<Leases>),
}

/// Whether a session that just logged in may take relays at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joined {
    /// Another session of the account is live: this one is live too.
    Live,
    /// No session was live: this one drains the mailbox first.
    Draining,
}

/// What the drain of a mailbox must see before its session goes live: no write to the
/// mailbox in flight when the read began, and none started since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriteMark {
    pending: u32,
    started: u64,
    rescuing: bool,
}

impl WriteMark {
    /// Whether a read that began at this mark saw every write the account has had.
    pub(crate) fn settled(&self) -> bool {
        self.pending == 0 && !self.rescuing
    }
}

#[derive(Debug)]
struct Session {
    conn: ConnId,
    peer: Peer,
    live: bool,
    /// The protocol version it speaks, as of its login (anonymous connections: the base).
    version: u32,
}

/// A user as the registry keeps it.
#[derive(Debug, Default)]
struct Entry {
    /// One for an anonymous user; every logged-in connection for an account. Empty for an
    /// account that is away but has mailbox writes in flight.
    sessions: SmallVec<[Session; 1]>,
    /// Mailbox writes routed to this account and not yet done.
    writes_pending: u32,
    /// Mailbox writes ever routed to it while it was in the map.
    writes_started: u64,
    /// Sessions that have left with relays they did not write on their way to the mailbox.
    rescues: u32,
    /// The account's name; `None` for an anonymous user.
    name: Option<Arc<str>>,
    /// The other hubs of the cluster it is present on (`crate::cluster::presence`).
    remote: SmallVec<[u64; 1]>,
}

impl Entry {
    /// Present on this hub or through another of its cluster.
    fn is_present(&self) -> bool {
        self.is_here() || !self.remote.is_empty()
    }

    /// Present on this hub, what it tells the cluster: a session here, or one that left and
    /// is still handing what it did not write to the mailbox. An account leaves only once its
    /// hand-off is written, so that another hub that hears it leave and keeps a relay for it
    /// keeps that relay behind the hand-off (docs/CLUSTER.md, § A session's hand-off across
    /// hubs).
    fn is_here(&self) -> bool {
        !self.sessions.is_empty() || self.rescues > 0
    }

    /// Whether nothing keeps this entry in the map.
    fn is_idle(&self) -> bool {
        self.sessions.is_empty()
            && self.remote.is_empty()
            && self.writes_pending == 0
            && self.rescues == 0
    }

    /// Whether relays a closing session did not write are not yet in the mailbox: from the
    /// close (the session is still here) until [`Registry::rescued`] (it has left).
    fn rescuing(&self) -> bool {
        self.rescues > 0 || self.sessions.iter().any(|s| s.peer.hands_over())
    }

    /// The sessions that take relays. An account's session that is closing does not: what
    /// it would be sent goes to the mailbox instead, where it is not lost with the session.
    /// An anonymous connection that closes with a flush still takes frames until it leaves.
    fn live(&self) -> impl Iterator<Item = &Session> {
        let account = self.name.is_some();
        self.sessions
            .iter()
            .filter(move |s| s.live && !(account && s.peer.is_closing()))
    }

    fn has_live(&self) -> bool {
        self.live().next().is_some()
    }

    /// Queue `frame` (or `legacy`, for a session of an older version) for each live session:
    /// delivered if any took it.
    fn deliver(&self, frame: &Bytes, legacy: Option<&Bytes>) -> Option<bool> {
        let mut outcome = None;
        for session in self.live() {
            let ok = session
                .peer
                .deliver(session.peer.pick(frame, legacy).clone())
                .is_ok();
            outcome = Some(outcome.unwrap_or(false) | ok);
        }
        outcome
    }
}

#[derive(Debug)]
struct Watcher {
    /// Who the watching connection is now (it changes when it logs in).
    user: UserId,
    peer: Peer,
    /// Its protocol version: it hears `Presence` from version 6 on, `Arrived` from 3, `Joined`
    /// before.
    version: u32,
}

/// One arrival, encoded for watchers of versions before [`PRESENCE_VERSION`], and its name
/// for those at it.
struct Arrival {
    joined: Bytes,
    arrived: Bytes,
    name: Option<Arc<str>>,
}

impl Arrival {
    fn new(user_id: UserId, name: Option<&str>) -> Arrival {
        Arrival {
            joined: frame(&HubMsg::<Bytes>::Joined { user_id }),
            arrived: frame(&HubMsg::<Bytes>::Arrived {
                user_id,
                name: name.map(str::to_owned),
            }),
            name: name.map(Arc::from),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<UserId, Entry>,
    watchers: HashMap<ConnId, Watcher>,
    /// Connections in the map, whoever they are logged in as.
    connections: usize,
    /// The number of the last presence change of this hub told the cluster.
    presence_seq: u64,
    /// Accounts whose last session on another hub left and is handing what it did not write
    /// to the mailbox there ([`Change::Handing`]), and those hubs: their drains here wait.
    handing: HashMap<UserId, SmallVec<[u64; 1]>>,
}

impl Inner {
    /// Whether `account`'s mailbox is still being written by a hand-off here or on another hub.
    fn rescuing(&self, account: UserId) -> bool {
        self.handing.contains_key(&account) || self.users.get(&account).is_some_and(Entry::rescuing)
    }

    /// `hub` is done handing `account`'s relays over (it left, or a session came back): true
    /// if that was the last hand-off a drain here waited for.
    fn handed(&mut self, account: UserId, hub: u64) -> bool {
        let Some(hubs) = self.handing.get_mut(&account) else {
            return false;
        };
        hubs.retain(|h| *h != hub);
        if hubs.is_empty() {
            self.handing.remove(&account);
            return true;
        }
        false
    }
}

/// The hub's shared state.
#[derive(Debug)]
pub(crate) struct Registry {
    ids: Ids,
    /// Where this hub's presence changes go for the cluster, when it is in one.
    changes: Option<Sender<Numbered>>,
    inner: RwLock<Inner>,
    closes: Mutex<VecDeque<(Option<UserId>, CloseReason)>>,
    /// The hub is shutting down: everyone leaves, and nobody needs to hear about it.
    shutting_down: AtomicBool,
    /// Woken whenever an account's mailbox writes in flight reach zero.
    writes_settled: Notify,
    /// Counters for the stats line.
    pub stats: Stats,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            ids: Ids::Local(AtomicU64::new(1)),
            changes: None,
            inner: RwLock::default(),
            closes: Mutex::default(),
            shutting_down: AtomicBool::new(false),
            writes_settled: Notify::new(),
            stats: Stats::default(),
        }
    }
}

impl Registry {
    /// The registry of a hub in a cluster: its ids leased, its presence changes told.
    /// Its stats count NATS's slow-consumer drops in `slow_consumers`.
    pub(crate) fn clustered(
        leases: Arc<Leases>,
        changes: Sender<Numbered>,
        slow_consumers: Arc<AtomicU64>,
    ) -> Registry {
        Registry {
            ids: Ids::Leased(leases),
            changes: Some(changes),
            stats: Stats {
                nats_slow_consumers: slow_consumers,
                ..Stats::default()
            },
            ..Registry::default()
        }
    }

    /// A hub alone whose presence changes go to `changes`, as a clustered hub's do.
    #[cfg(test)]
    pub(crate) fn telling(changes: Sender<Numbered>) -> Registry {
        Registry {
            changes: Some(changes),
            ..Registry::default()
        }
    }

    /// The next anonymous id: 1, 2, 3, … never reused while the hub runs, and always below
    /// [`FIRST_ACCOUNT_ID`]; `None` once they are all given out (after four billion
    /// connections), when the hub takes no more until it restarts. In a cluster, the next of
    /// the block this hub leased; `None` also while its blocks are used up and NATS cannot
    /// lease the next.
    pub(crate) fn next_id(&self) -> Option<UserId> {
        let next_id = match &self.ids {
            Ids::Local(next_id) => next_id,
            Ids::Leased(leases) => return leases.next_id(),
        };
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        if id >= FIRST_ACCOUNT_ID {
            // Stay past the end, so that the counter never wraps back into the range.
            next_id.store(FIRST_ACCOUNT_ID, Ordering::Relaxed);
            return None;
        }
        Some(UserId(id))
    }

    /// [`Self::next_id`], waiting a little for the cluster to lease this hub more ids when
    /// its blocks are used up (`crate::cluster::ids`); a hub alone never waits.
    pub(crate) async fn next_id_waiting(&self) -> Option<UserId> {
        match &self.ids {
            Ids::Local(_) => self.next_id(),
            Ids::Leased(leases) => leases.next_id_waiting().await,
        }
    }

    /// Tell the cluster, if any, of a change in this hub's presence: numbered under the lock,
    /// so that the numbers follow the order of the changes and a snapshot taken under it has
    /// exactly the changes numbered up to its own. Under the lock nothing waits: on a full
    /// queue (`crate::cluster::PRESENCE_QUEUE`) the change is dropped, its number skipped,
    /// and the other hubs, seeing the gap, take a snapshot instead.
    fn tell_cluster(&self, inner: &mut Inner, change: impl FnOnce() -> Change) {
        if let Some(changes) = &self.changes {
            inner.presence_seq += 1;
            if changes.try_send((inner.presence_seq, change())).is_err() {
                Stats::add(&self.stats.presence_dropped, 1);
            }
        }
    }

    /// The number of the last presence change of this hub: what a heartbeat says, so that a
    /// change dropped at the end of a burst shows as a gap too.
    pub(crate) fn presence_seq(&self) -> u64 {
        self.read().presence_seq
    }

    /// Who is present on this hub (not through others) and the number of the last change
    /// told the cluster: what another hub asks for when it starts following this one.
    pub(crate) fn local_snapshot(&self) -> (u64, Vec<(UserId, Option<String>)>) {
        let inner = self.read();
        let users = inner
            .users
            .iter()
            .filter(|(_, e)| e.is_here())
            .map(|(&id, e)| (id, e.name.as_deref().map(str::to_owned)))
            .collect();
        (inner.presence_seq, users)
    }

    /// Apply presence changes of the cluster's hub `hub`, in order: a user arrives when it is
    /// present nowhere else, and leaves when it is left nowhere, as watchers hear.
    pub(crate) fn remote_apply(&self, hub: u64, changes: &[Change]) {
        let mut inner = self.write();
        let mut settled = false;
        for change in changes {
            if let Change::Arrived { user, .. } | Change::Left { user } = change {
                settled |= inner.handed(*user, hub);
            }
            match change {
                Change::Handing { user } => {
                    let hubs = inner.handing.entry(*user).or_default();
                    if !hubs.contains(&hub) {
                        hubs.push(hub);
                    }
                    // Present there as ever: it left only if it had never arrived.
                    let entry = inner.users.entry(*user).or_default();
                    if !entry.remote.contains(&hub) {
                        let first = !entry.is_present();
                        entry.remote.push(hub);
                        if first {
                            let arrival = Arrival::new(*user, entry.name.as_deref());
                            self.tell_arrival(&inner, *user, &arrival);
                        }
                    }
                }
                Change::Arrived { user, name } => {
                    let entry = inner.users.entry(*user).or_default();
                    if entry.remote.contains(&hub) {
                        continue;
                    }
                    let first = !entry.is_present();
                    entry.remote.push(hub);
                    if let Some(name) = name {
                        entry.name.get_or_insert_with(|| name.as_str().into());
                    }
                    if first {
                        let arrival = Arrival::new(*user, name.as_deref());
                        self.tell_arrival(&inner, *user, &arrival);
                    }
                }
                Change::Left { user } => {
                    let Some(entry) = inner.users.get_mut(user) else {
                        continue;
                    };
                    let Some(at) = entry.remote.iter().position(|h| *h == hub) else {
                        continue;
                    };
                    entry.remote.swap_remove(at);
                    let (gone, idle) = (!entry.is_present(), entry.is_idle());
                    if idle {
                        inner.users.remove(user);
                    }
                    if gone {
                        let left = frame(&HubMsg::<Bytes>::Left { user_id: *user });
                        self.tell_left(&inner, *user, left);
                    }
                }
            }
        }
        drop(inner);
        if settled {
            self.writes_settled.notify_waiters();
        }
    }

    /// Connections right now, however many are sessions of one account.
    pub(crate) fn len(&self) -> usize {
        self.read().connections
    }

    /// Add an anonymous connection and tell the watchers.
    pub(crate) fn join(&self, id: UserId, peer: Peer) {
        let arrival = Arrival::new(id, None);
        let mut inner = self.write();
        let entry = inner.users.entry(id).or_default();
        entry.sessions.push(Session {
            conn: id,
            peer,
            live: true,
            version: shared::BASE_VERSION,
        });
        inner.connections += 1;
        self.tell_cluster(&mut inner, || Change::Arrived {
            user: id,
            name: None,
        });
        self.tell_arrival(&inner, id, &arrival);
    }

    /// Make connection `conn`, now known as `from`, a session of `account` (named `name`).
    /// Watchers see `from` leave and, if this is the account's first session, the account
    /// arrive. A session that joins live calls `announce` (queue its `LoggedIn`) under the
    /// lock first, so that no relay to the account can reach it before that.
    pub(crate) fn log_in(
        &self,
        conn: ConnId,
        from: UserId,
        account: UserId,
        name: &str,
        version: u32,
        announce: impl FnOnce(),
    ) -> Option<Joined> {
        let arrival = Arrival::new(account, Some(name));
        let mut inner = self.write();
        let session = take_session(&mut inner, from, conn)?;
        let quiet = self.shutting_down.load(Ordering::Relaxed);
        if !quiet && !inner.users.get(&from).is_some_and(Entry::is_here) {
            self.tell_cluster(&mut inner, || Change::Left { user: from });
        }
        if !quiet && !inner.users.get(&from).is_some_and(Entry::is_present) {
            self.tell_left(
                &inner,
                from,
                frame(&HubMsg::<Bytes>::Left { user_id: from }),
            );
        }
        let entry = inner.users.entry(account).or_default();
        entry.name.get_or_insert_with(|| name.into());
        let first = !entry.is_present();
        // Also while a session that left hands over: the other hubs' drains wait no more.
        let first_here = entry.sessions.is_empty();
        let joined = if entry.has_live() {
            announce();
            Joined::Live
        } else {
            Joined::Draining
        };
        entry.sessions.push(Session {
            live: joined == Joined::Live,
            version,
            ..session
        });
        inner.connections += 1;
        if let Some(watcher) = inner.watchers.get_mut(&conn) {
            watcher.user = account;
        }
        if first_here && !quiet {
            self.tell_cluster(&mut inner, || Change::Arrived {
                user: account,
                name: Some(name.to_owned()),
            });
        }
        if first && !quiet {
            self.tell_arrival(&inner, account, &arrival);
        }
        Some(joined)
    }

    /// Where the mailbox writes of `account` stand, to be taken before a drain reads it.
    pub(crate) fn write_mark(&self, account: UserId) -> WriteMark {
        let inner = self.read();
        let entry = inner.users.get(&account);
        WriteMark {
            pending: entry.map_or(0, |e| e.writes_pending),
            started: entry.map_or(0, |e| e.writes_started),
            rescuing: inner.rescuing(account),
        }
    }

    /// Wait until some account's mailbox writes settle: call [`Self::settled`] first, then
    /// take the mark, then await the future, so that no wake-up falls in between.
    pub(crate) fn settled(&self) -> tokio::sync::futures::Notified<'_> {
        self.writes_settled.notified()
    }

    /// Make `conn`'s session of `account` live, if the drain that read the mailbox at `mark`
    /// found it empty and no write to it has started or finished since: from then on relays
    /// to the account reach the session directly. `announce` runs first, under the lock, when
    /// it does. False means read the mailbox again.
    pub(crate) fn try_go_live(
        &self,
        conn: ConnId,
        account: UserId,
        mark: WriteMark,
        announce: impl FnOnce(),
    ) -> bool {
        let mut inner = self.write();
        if inner.rescuing(account) {
            return false;
        }
        let Some(entry) = inner.users.get_mut(&account) else {
            return false;
        };
        if !mark.settled() || entry.writes_pending != 0 || entry.writes_started != mark.started {
            return false;
        }
        if !entry.sessions.iter().any(|s| s.conn == conn) {
            return false;
        }
        announce();
        // Another session draining beside this one goes live too: left draining, it would miss
        // what is now delivered live. Its drain goes on as a replay.
        for session in &mut entry.sessions {
            session.live = true;
        }
        true
    }

    /// The mailbox writes of a relay's `offline` receivers are done (whatever their outcome).
    pub(crate) fn write_done(&self, offline: &[UserId]) {
        if offline.is_empty() {
            return;
        }
        let mut inner = self.write();
        let mut settled = false;
        for id in offline {
            if let Some(entry) = inner.users.get_mut(id) {
                entry.writes_pending -= 1;
                if entry.writes_pending == 0 {
                    settled = true;
                    if entry.is_idle() {
                        inner.users.remove(id);
                    }
                }
            }
        }
        drop(inner);
        if settled {
            self.writes_settled.notify_waiters();
        }
    }

    /// Remove connection `conn`, known as `id`, and tell the watchers if `id` is gone: the only
    /// way out of the registry, taken once by every connection when it stops routing (see
    /// `connection::serve`). Dropping the peer lets go of the queue's last sender, so its
    /// writer finishes once drained.
    ///
    /// True for a session of an account: the account is rescuing until the caller has put
    /// what the session did not write in the mailbox and called [`Self::rescued`].
    pub(crate) fn leave(&self, conn: ConnId, id: UserId) -> bool {
        let frame = frame(&HubMsg::<Bytes>::Left { user_id: id });
        let mut inner = self.write();
        inner.watchers.remove(&conn);
        let Some(session) = take_session(&mut inner, id, conn) else {
            return false;
        };
        let rescue = session.peer.keeps_mail();
        if rescue {
            inner.users.entry(id).or_default().rescues += 1;
        }
        if !self.shutting_down.load(Ordering::Relaxed) {
            match inner.users.get(&id) {
                Some(e) if e.sessions.is_empty() && e.rescues > 0 => {
                    // Left follows in `rescued`, once the hand-off is written.
                    self.tell_cluster(&mut inner, || Change::Handing { user: id });
                }
                Some(e) if e.is_here() => {}
                _ => self.tell_cluster(&mut inner, || Change::Left { user: id }),
            }
        }
        if !inner.users.get(&id).is_some_and(Entry::is_present)
            && !self.shutting_down.load(Ordering::Relaxed)
        {
            self.tell_left(&inner, id, frame);
        }
        rescue
    }

    /// What a session that left (see [`Self::leave`]) did not write is in `account`'s
    /// mailbox, or is lost for good: relays held behind it may go on.
    pub(crate) fn rescued(&self, account: UserId) {
        let mut inner = self.write();
        if let Some(entry) = inner.users.get_mut(&account) {
            entry.rescues -= 1;
            let (here, present, idle) = (entry.is_here(), entry.is_present(), entry.is_idle());
            if idle {
                inner.users.remove(&account);
            }
            // The leave that `leave` held back while the hand-off was being written.
            if !self.shutting_down.load(Ordering::Relaxed) {
                if !here {
                    self.tell_cluster(&mut inner, || Change::Left { user: account });
                }
                if !present {
                    let left = frame(&HubMsg::<Bytes>::Left { user_id: account });
                    self.tell_left(&inner, account, left);
                }
            }
        }
        drop(inner);
        self.writes_settled.notify_waiters();
    }

    /// Whether any of `accounts` is rescuing: a relay for their mailboxes waits until none is
    /// (on [`Self::settled`]), so that it lands after what a closing session handed over.
    pub(crate) fn rescuing(&self, accounts: &[UserId]) -> bool {
        let inner = self.read();
        accounts
            .iter()
            .any(|id| inner.users.get(id).is_some_and(Entry::rescuing))
    }

    /// Queue `frame` for each live session of `account` but `except`: what one session
    /// relayed, for the others. Whether it has any is checked first, so a relay from an
    /// account's only session encodes nothing more.
    pub(crate) fn to_other_sessions(
        &self,
        account: UserId,
        except: ConnId,
        frame: impl Fn(bool) -> Bytes,
    ) {
        let others: Vec<Peer> = {
            let inner = self.read();
            let Some(entry) = inner.users.get(&account) else {
                return;
            };
            entry
                .live()
                .filter(|s| s.conn != except)
                .map(|s| s.peer.clone())
                .collect()
        };
        if others.is_empty() {
            return;
        }
        // Encoded without the lock: it copies the body. `frame(false)` is the frame for a
        // session of a version before `BodyKind::Sealed`, made only if one is there.
        let current = frame(true);
        let legacy = others
            .iter()
            .any(|p| !p.takes_sealed())
            .then(|| frame(false));
        for peer in others {
            let _ = peer.deliver(peer.pick(&current, legacy.as_ref()).clone());
        }
    }

    /// Queue the receipt `frame` for each live session of `account` that speaks
    /// [`shared::RECEIPTS_VERSION`]: whether any took it (else the store keeps it for the next
    /// login).
    pub(crate) fn to_receipt_sessions(&self, account: UserId, frame: &Bytes) -> bool {
        let inner = self.read();
        let Some(entry) = inner.users.get(&account) else {
            return false;
        };
        let mut taken = false;
        for session in entry
            .live()
            .filter(|s| s.version >= shared::RECEIPTS_VERSION)
        {
            taken |= session.peer.deliver(frame.clone()).is_ok();
        }
        taken
    }

    /// Close every session of `account` here with `reason` (it is deleted); how many.
    pub(crate) fn close_sessions(&self, account: UserId, reason: CloseReason) -> usize {
        let sessions: Vec<Peer> = {
            let inner = self.read();
            inner.users.get(&account).map_or_else(Vec::new, |e| {
                e.sessions.iter().map(|s| s.peer.clone()).collect()
            })
        };
        for session in &sessions {
            session.close(reason);
        }
        sessions.len()
    }

    /// Every account with a session here.
    pub(crate) fn accounts_here(&self) -> Vec<UserId> {
        let inner = self.read();
        inner
            .users
            .iter()
            .filter(|(_, e)| e.name.is_some() && e.is_here())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether `id` has a session here, and the other hubs it is present through, ascending.
    pub(crate) fn presence_of(&self, id: UserId) -> (bool, Vec<u64>) {
        let inner = self.read();
        let Some(entry) = inner.users.get(&id) else {
            return (false, Vec::new());
        };
        let mut remote = entry.remote.to_vec();
        remote.sort_unstable();
        (entry.is_here(), remote)
    }

    /// Whether `id` has a session that takes relays.
    pub(crate) fn has_live(&self, id: UserId) -> bool {
        self.read().users.get(&id).is_some_and(Entry::has_live)
    }

    /// Whether `id` has a session connected (live or draining).
    pub(crate) fn is_present(&self, id: UserId) -> bool {
        self.read().users.get(&id).is_some_and(Entry::is_present)
    }

    /// From now on users leave without telling the watchers: at shutdown everyone goes, and
    /// telling each of N watchers about N others would be N² frames nobody reads.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Every present id but `asker`, ascending; an account once however many sessions it has.
    pub(crate) fn list(&self, asker: UserId) -> Vec<UserId> {
        present_but(&self.read(), asker)
    }

    /// Make `conn` (known as `id`, speaking `version`) a watcher and queue its snapshot, under
    /// the same lock as joins and leaves so that no event can fall between the snapshot and the
    /// stream of changes.
    pub(crate) fn watch(
        &self,
        conn: ConnId,
        id: UserId,
        req: RequestId,
        version: u32,
    ) -> Result<(), PushError> {
        let mut inner = self.write();
        let peer = inner
            .users
            .get(&id)
            .and_then(|e| e.sessions.iter().find(|s| s.conn == conn))
            .map(|s| s.peer.clone())
            .ok_or(PushError::Closed)?;
        let frames = snapshot(&inner, id, req, version);
        if version >= PRESENCE_VERSION {
            // What is pending is in this snapshot; a place queued before it writes nothing.
            peer.restart_presence();
        }
        let answer = frames.into_iter().try_for_each(|f| peer.answer(f));
        let watcher = Watcher {
            user: id,
            peer,
            version,
        };
        inner.watchers.insert(conn, watcher);
        answer
    }

    /// Queue `frame` for each receiver's live sessions through [`Peer::deliver`], which
    /// applies the slow-consumer rule; nobody waits for anyone. Accounts with no live session,
    /// or none that could take it (each too slow, and now closing), come back in
    /// [`Routed::offline`], each with a mailbox write counted as pending.
    #[cfg(test)]
    pub(crate) fn route(&self, to: &[UserId], frame: &Bytes) -> Routed {
        self.route_for(to, frame, None)
    }

    /// [`Self::route`], where receivers of a version before `BodyKind::Sealed` get `legacy`
    /// (the same message with the kind they know) when it is given.
    pub(crate) fn route_for(&self, to: &[UserId], frame: &Bytes, legacy: Option<&Bytes>) -> Routed {
        let mut routed = Routed::default();
        let inner = self.read();
        for &id in to {
            let entry = inner.users.get(&id);
            let here = entry.and_then(|e| e.deliver(frame, legacy));
            if let Some(entry) = entry.filter(|e| !e.remote.is_empty()) {
                // On other hubs too: what they do decides, unless it is delivered here.
                let counted = here == Some(true);
                routed.delivered += u32::from(counted);
                routed.remote.extend(
                    entry
                        .remote
                        .iter()
                        .map(|&hub| RemoteTo { hub, id, counted }),
                );
                continue;
            }
            match here {
                Some(true) => routed.delivered += 1,
                // An account whose every live session was too slow keeps it in its mailbox.
                _ if id.0 >= FIRST_ACCOUNT_ID => routed.offline.push(id),
                Some(false) => routed.dropped.push(id),
                None => routed.unknown.push(id),
            }
        }
        drop(inner);
        if !routed.offline.is_empty() {
            self.count_writes(&mut routed, frame, legacy);
        }
        let delivered = u64::from(routed.delivered);
        Stats::add(&self.stats.relays, 1);
        Stats::add(&self.stats.deliveries, delivered);
        Stats::add(&self.stats.delivered_bytes, delivered * frame.len() as u64);
        Stats::add(&self.stats.drops, routed.dropped.len() as u64);
        routed
    }

    /// Route a relay that came from another hub of the cluster to `to`'s live sessions here,
    /// with the slow-consumer rule of [`Self::route_for`]. An account with a session here
    /// that could not take it (draining its mailbox, or closing) comes back second, its
    /// mailbox write counted pending here, as [`Routed::offline`] is, until the origin has
    /// written it (so that its drains see the write: `crate::cluster::relay`); one with no
    /// session here is `offline`, for the origin to keep in the mailbox.
    pub(crate) fn route_here(
        &self,
        to: &[UserId],
        frame: &Bytes,
        legacy: Option<&Bytes>,
    ) -> (RelayAnswer, Vec<UserId>) {
        let mut answer = RelayAnswer::default();
        let mut here = Vec::new();
        let inner = self.read();
        for &id in to {
            let entry = inner.users.get(&id);
            match entry.and_then(|e| e.deliver(frame, legacy)) {
                Some(true) => answer.delivered.push(id),
                _ if id.0 >= FIRST_ACCOUNT_ID && entry.is_some_and(Entry::is_here) => here.push(id),
                _ if id.0 >= FIRST_ACCOUNT_ID => answer.offline.push(id),
                Some(false) => answer.dropped.push(id),
                None => answer.unknown.push(id),
            }
        }
        drop(inner);
        let mut mailbox = Vec::new();
        if !here.is_empty() {
            // As in `count_writes`: under the write lock, one that went live since takes it.
            let mut inner = self.write();
            for id in here {
                let Some(entry) = inner.users.get_mut(&id).filter(|e| e.is_here()) else {
                    answer.offline.push(id);
                    continue;
                };
                match entry.deliver(frame, legacy) {
                    Some(true) => answer.delivered.push(id),
                    Some(false) | None => {
                        entry.writes_pending += 1;
                        entry.writes_started += 1;
                        mailbox.push(id);
                    }
                }
            }
        }
        let delivered = answer.delivered.len() as u64;
        Stats::add(&self.stats.deliveries, delivered);
        Stats::add(&self.stats.delivered_bytes, delivered * frame.len() as u64);
        Stats::add(&self.stats.drops, answer.dropped.len() as u64);
        (answer, mailbox)
    }

    /// The other hubs of the cluster `account` is present on.
    pub(crate) fn remote_hubs(&self, account: UserId) -> SmallVec<[u64; 1]> {
        self.read()
            .users
            .get(&account)
            .map_or_else(SmallVec::new, |e| e.remote.clone())
    }

    /// Count a mailbox write as pending for each of `accounts`, as [`Self::route_for`] does
    /// for its `offline` receivers: for the accounts that other hubs of the cluster did not
    /// deliver to. The caller reports them done with [`Self::write_done`].
    pub(crate) fn count_mailbox_writes(&self, accounts: &[UserId]) {
        if accounts.is_empty() {
            return;
        }
        let mut inner = self.write();
        for &id in accounts {
            let entry = inner.users.entry(id).or_default();
            entry.writes_pending += 1;
            entry.writes_started += 1;
        }
    }

    /// The slow path of [`Self::route`]: under the write lock, deliver to accounts that went
    /// live since the read, and count a pending mailbox write for the others.
    fn count_writes(&self, routed: &mut Routed, frame: &Bytes, legacy: Option<&Bytes>) {
        let mut inner = self.write();
        let offline = std::mem::take(&mut routed.offline);
        for id in offline {
            let entry = inner.users.entry(id).or_default();
            match entry.deliver(frame, legacy) {
                Some(true) => routed.delivered += 1,
                Some(false) | None => {
                    entry.writes_pending += 1;
                    entry.writes_started += 1;
                    routed.offline.push(id);
                }
            }
        }
    }

    /// Remember why a connection closed, forgetting the oldest beyond [`CLOSE_RECORD_LEN`].
    pub(crate) fn record_close(&self, id: Option<UserId>, reason: CloseReason) {
        let mut closes = self.closes.lock().expect("close record lock poisoned");
        if closes.len() == CLOSE_RECORD_LEN {
            closes.pop_front();
        }
        closes.push_back((id, reason));
    }

    /// The recent close records, oldest first.
    pub(crate) fn recent_closes(&self) -> Vec<(Option<UserId>, CloseReason)> {
        let closes = self.closes.lock().expect("close record lock poisoned");
        closes.iter().copied().collect()
    }

    /// Tell each watcher that `about` left: `frame` (its `Left`), or, at
    /// [`PRESENCE_VERSION`], a change in its pending presence (`crate::presence`).
    fn tell_left(&self, inner: &Inner, about: UserId, frame: Bytes) {
        for watcher in inner.watchers.values().filter(|w| w.user != about) {
            if watcher.version >= PRESENCE_VERSION {
                watcher.peer.note_presence(|p| p.left(about));
            } else {
                // A watcher too slow for presence is closed by `deliver`; nobody else waits.
                let _ = watcher.peer.deliver(frame.clone());
            }
        }
    }

    /// Tell each watcher of an arrival in its version's words.
    fn tell_arrival(&self, inner: &Inner, about: UserId, arrival: &Arrival) {
        for watcher in inner.watchers.values().filter(|w| w.user != about) {
            let frame = if watcher.version >= PRESENCE_VERSION {
                watcher
                    .peer
                    .note_presence(|p| p.arrived(about, arrival.name.as_ref()));
                continue;
            } else if watcher.version >= ACCOUNTS_VERSION {
                &arrival.arrived
            } else {
                &arrival.joined
            };
            let _ = watcher.peer.deliver(frame.clone());
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().expect("registry lock poisoned")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().expect("registry lock poisoned")
    }
}

/// Take connection `conn`'s session out of `id`'s entry, dropping the entry when nothing is
/// left of it.
fn take_session(inner: &mut Inner, id: UserId, conn: ConnId) -> Option<Session> {
    let entry = inner.users.get_mut(&id)?;
    let at = entry.sessions.iter().position(|s| s.conn == conn)?;
    let session = entry.sessions.swap_remove(at);
    if entry.is_idle() {
        inner.users.remove(&id);
    }
    inner.connections -= 1;
    Some(session)
}

/// Most peers in one snapshot frame: a peer is at most 44 bytes (a 10-byte id, a name of at
/// most 32 bytes and their two prefixes), so a frame stays under 720 KiB, within `MAX_FRAME_LEN`.
pub(crate) const SNAPSHOT_CHUNK: usize = 16_384;

/// The frames of `asker`'s snapshot in its `version`'s words: the answer (`Peers`, or
/// `Present` from [`ACCOUNTS_VERSION`]) with the first [`SNAPSHOT_CHUNK`] present users by id,
/// then the rest as the pushes the version hears of arrivals (`Joined`, `Arrived`, or
/// `Presence` frames of [`crate::presence::PRESENCE_CHUNK`] from [`PRESENCE_VERSION`]). The
/// caller queues them together under the lock, so no change falls among them.
fn snapshot(inner: &Inner, asker: UserId, req: RequestId, version: u32) -> Vec<Bytes> {
    let ids = present_but(inner, asker);
    let (first, rest) = ids.split_at(ids.len().min(SNAPSHOT_CHUNK));
    let info = |&user_id: &UserId| PeerInfo {
        user_id,
        name: inner.users[&user_id].name.as_deref().map(str::to_owned),
    };
    let mut frames = Vec::with_capacity(1);
    if version < ACCOUNTS_VERSION {
        let peers = first.to_vec();
        frames.push(frame(&HubMsg::<Bytes>::Peers { req, peers }));
        frames.extend(
            rest.iter()
                .map(|&user_id| frame(&HubMsg::<Bytes>::Joined { user_id })),
        );
        return frames;
    }
    let peers = first.iter().map(info).collect();
    frames.push(frame(&HubMsg::<Bytes>::Present { req, peers }));
    if version >= PRESENCE_VERSION {
        frames.extend(rest.chunks(crate::presence::PRESENCE_CHUNK).map(|chunk| {
            frame(&HubMsg::<Bytes>::Presence {
                arrived: chunk.iter().map(info).collect(),
                left: Vec::new(),
            })
        }));
    } else {
        frames.extend(rest.iter().map(|id| {
            let PeerInfo { user_id, name } = info(id);
            frame(&HubMsg::<Bytes>::Arrived { user_id, name })
        }));
    }
    frames
}

/// The frames of the answer to a `List` of `req` over `ids` (ascending) in `version`'s words:
/// from [`LIST_VERSION`] a `PeersPart` of [`LIST_CHUNK`] ids for each full chunk but the last,
/// then a `Peers` with the rest; before it a `Peers` of the first [`LIST_CHUNK`] ids alone,
/// since an older client knows no other answer and one frame holds no more.
pub(crate) fn list_answer(ids: &[UserId], req: RequestId, version: u32) -> Vec<Bytes> {
    if version < LIST_VERSION {
        let peers = ids[..ids.len().min(LIST_CHUNK)].to_vec();
        return vec![frame(&HubMsg::<Bytes>::Peers { req, peers })];
    }
    // The closing `Peers` takes the last chunk, full or not (or none, for no one).
    let closing = ids.len().saturating_sub(1) / LIST_CHUNK * LIST_CHUNK;
    let (parts, rest) = ids.split_at(closing);
    let mut frames: Vec<Bytes> = parts
        .chunks(LIST_CHUNK)
        .map(|peers| {
            frame(&HubMsg::<Bytes>::PeersPart {
                req,
                peers: peers.to_vec(),
            })
        })
        .collect();
    let peers = rest.to_vec();
    frames.push(frame(&HubMsg::<Bytes>::Peers { req, peers }));
    frames
}

/// Every present id but `asker`, ascending.
fn present_but(inner: &Inner, asker: UserId) -> Vec<UserId> {
    let mut ids: Vec<UserId> = inner
        .users
        .iter()
        .filter(|(&id, e)| id != asker && e.is_present())
        .map(|(&id, _)| id)
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::close::Control;
    use crate::config::Config;
    use crate::queue::{queue, Budget, Inbox};

    fn peer() -> (Peer, Inbox) {
        let (outbox, inbox) = queue(
            Config::default().queue_limits(),
            Arc::new(Budget::new(1 << 30)),
        );
        (Peer::new(outbox, Arc::new(Control::default())), inbox)
    }

    const BOB: UserId = UserId(FIRST_ACCOUNT_ID);

    #[test]
    fn anonymous_ids_never_reach_the_account_range() {
        let registry = Registry::default();
        assert_eq!(registry.next_id(), Some(UserId(1)));
        let Ids::Local(next_id) = &registry.ids else {
            unreachable!("a hub alone counts its own ids")
        };
        next_id.store(FIRST_ACCOUNT_ID - 1, Ordering::Relaxed);
        assert_eq!(registry.next_id(), Some(UserId(FIRST_ACCOUNT_ID - 1)));
        assert_eq!(registry.next_id(), None);
        assert_eq!(registry.next_id(), None, "and it stays so");
    }

    /// A snapshot of more peers than one frame holds (about 27,000 accounts with 32-byte
    /// names) comes as a `Present` of the first ones and pushes with the rest, every frame
    /// within the frame limit, in each version's words; before, encoding it panicked under
    /// the registry's lock.
    #[test]
    fn a_snapshot_too_big_for_one_frame_comes_in_several_each_within_the_limit() {
        let registry = Registry::default();
        let total = 30_000u64;
        let mut inboxes = Vec::new();
        for n in 0..total {
            let (conn, (session, inbox)) = (UserId(n + 10), peer());
            registry.join(conn, session);
            let name = format!("{n:0>32}");
            registry.log_in(conn, conn, UserId(FIRST_ACCOUNT_ID + n), &name, 6, || {});
            inboxes.push(inbox);
        }
        for version in [shared::BASE_VERSION, ACCOUNTS_VERSION, PRESENCE_VERSION] {
            let (conn, (watcher, mut inbox)) = (UserId(1), peer());
            registry.join(conn, watcher);
            registry
                .watch(conn, conn, RequestId(7), version)
                .expect("watches");
            let frames = inbox.take_unsent(|_| true);
            assert!(frames.len() > 1, "v{version}: more than one frame");
            let mut seen = Vec::new();
            for (at, bytes) in frames.iter().enumerate() {
                assert!(
                    bytes.len() <= shared::MAX_FRAME_LEN,
                    "v{version}: frame {at}"
                );
                let msg = HubMsg::<Bytes>::decode(&bytes[4..]).expect("decodes");
                match (at, msg) {
                    (0, HubMsg::Peers { req, peers }) => {
                        assert_eq!(req, RequestId(7));
                        seen.extend(peers);
                    }
                    (0, HubMsg::Present { req, peers }) => {
                        assert_eq!(req, RequestId(7));
                        seen.extend(peers.into_iter().map(|p| p.user_id));
                    }
                    (_, HubMsg::Joined { user_id }) if version < ACCOUNTS_VERSION => {
                        seen.push(user_id)
                    }
                    (_, HubMsg::Arrived { user_id, name }) if version < PRESENCE_VERSION => {
                        assert!(name.is_some());
                        seen.push(user_id);
                    }
                    (_, HubMsg::Presence { arrived, left }) => {
                        assert!(left.is_empty());
                        seen.extend(arrived.into_iter().map(|p| p.user_id));
                    }
                    (at, other) => panic!("v{version}: frame {at} is {other:?}"),
                }
            }
            let all: Vec<UserId> = (0..total).map(|n| UserId(FIRST_ACCOUNT_ID + n)).collect();
            assert_eq!(seen, all, "v{version}: everyone once, ascending");
            registry.leave(conn, conn);
        }
    }

    /// A `List` answer of more ids than one frame holds (215,000 five-byte ids are over
    /// 1 MiB): at version 7 every id once, ascending, in `PeersPart` frames closed by a
    /// `Peers`; before it a `Peers` of the first `LIST_CHUNK`. Each frame within the limit;
    /// before, encoding the one `Peers` panicked and took the connection's task down.
    #[test]
    fn a_list_too_big_for_one_frame_comes_in_parts_each_within_the_limit() {
        let registry = Registry::default();
        let (session, _inbox) = peer();
        let first = 1u64 << 28;
        let total = 215_000u64;
        for n in 0..total {
            registry.join(UserId(first + n), session.clone());
        }
        let ids = registry.list(UserId(first));
        assert_eq!(ids.len() as u64, total - 1, "everyone but the asker");
        let req = RequestId(4);
        let decode = |frames: &[Bytes]| -> Vec<HubMsg> {
            frames
                .iter()
                .map(|f| {
                    assert!(f.len() - 4 <= shared::MAX_FRAME_LEN, "within the limit");
                    HubMsg::decode(&f[4..]).expect("decodes")
                })
                .collect()
        };

        let msgs = decode(&list_answer(&ids, req, LIST_VERSION));
        let (last, parts) = msgs.split_last().expect("an answer");
        assert_eq!(
            parts.len(),
            ids.len() / LIST_CHUNK,
            "full parts, then the rest"
        );
        let mut seen: Vec<UserId> = Vec::new();
        for part in parts {
            let HubMsg::PeersPart { req: r, peers } = part else {
                panic!("a part: {part:?}")
            };
            assert_eq!((*r, peers.len()), (req, LIST_CHUNK));
            seen.extend(peers);
        }
        let HubMsg::Peers { req: r, peers } = last else {
            panic!("closed by Peers: {last:?}")
        };
        assert_eq!(*r, req);
        seen.extend(peers);
        assert_eq!(seen, ids, "every id once, ascending");

        let old = decode(&list_answer(&ids, req, LIST_VERSION - 1));
        assert_eq!(
            old,
            vec![HubMsg::Peers {
                req,
                peers: ids[..LIST_CHUNK].to_vec()
            }],
            "an older client gets the first ids that fit"
        );
        let few = decode(&list_answer(&ids[..3], req, LIST_VERSION));
        assert_eq!(
            few,
            vec![HubMsg::Peers {
                req,
                peers: ids[..3].to_vec()
            }],
            "a short list is one Peers, as in every version"
        );
    }

    /// The rule that keeps a drain from stranding a message: a session goes live only if its
    /// last mailbox read began with no write in flight and none has started since.
    #[test]
    fn a_drain_goes_live_only_after_every_mailbox_write_it_could_have_missed() {
        let registry = Registry::default();
        let frame = Bytes::from_static(b"m");
        let (conn, (session, _inbox)) = (UserId(1), peer());
        registry.join(conn, session);

        let routed = registry.route(&[BOB], &frame);
        assert_eq!(routed.offline, vec![BOB], "away: for the mailbox");
        assert_eq!(
            registry.log_in(conn, conn, BOB, "bob", 3, || {}),
            Some(Joined::Draining)
        );
        let during = registry.write_mark(BOB);
        assert!(!during.settled());
        assert!(
            !registry.try_go_live(conn, BOB, during, || {}),
            "a write was in flight when the read began"
        );
        registry.write_done(&routed.offline);
        assert!(
            !registry.try_go_live(conn, BOB, during, || {}),
            "that write may have landed after the read"
        );
        let before = registry.write_mark(BOB);
        assert!(before.settled());
        let again = registry.route(&[BOB], &frame);
        assert_eq!(again.offline, vec![BOB], "still draining: for the mailbox");
        registry.write_done(&again.offline);
        assert!(
            !registry.try_go_live(conn, BOB, before, || {}),
            "a write started after the read began"
        );
        let settled = registry.write_mark(BOB);
        assert!(registry.try_go_live(conn, BOB, settled, || {}));
        let live = registry.route(&[BOB], &frame);
        assert_eq!((live.delivered, live.offline.len()), (1, 0));
    }

    /// From a session's close until what it did not write is in the mailbox, relays to the
    /// account wait and no drain may go live; an anonymous connection never holds anyone up.
    #[test]
    fn a_closing_session_of_an_account_holds_its_relays_and_drains_until_rescued() {
        let registry = Registry::default();
        let (conn, (session, _inbox)) = (UserId(1), peer());
        let control = session.control_for_tests();
        registry.join(conn, session);
        assert_eq!(
            registry.log_in(conn, conn, BOB, "bob", 3, || {}),
            Some(Joined::Draining)
        );
        control.keep_mail();
        assert!(!registry.rescuing(&[BOB]));
        control.close(CloseReason::SlowConsumer);
        assert!(registry.rescuing(&[BOB]), "from the close");
        let (other, (second, _inbox2)) = (UserId(2), peer());
        registry.join(other, second);
        registry.log_in(other, other, BOB, "bob", 3, || {});
        let mark = registry.write_mark(BOB);
        assert!(!mark.settled());
        assert!(!registry.try_go_live(other, BOB, mark, || {}));
        assert!(
            registry.leave(conn, BOB),
            "a session of an account is rescued"
        );
        assert!(
            registry.rescuing(&[BOB]),
            "after it has left, until rescued"
        );
        registry.rescued(BOB);
        assert!(!registry.rescuing(&[BOB]));
        let mark = registry.write_mark(BOB);
        assert!(registry.try_go_live(other, BOB, mark, || {}));

        let (anon, (third, _inbox3)) = (UserId(3), peer());
        let control = third.control_for_tests();
        registry.join(anon, third);
        control.close(CloseReason::SlowConsumer);
        assert!(!registry.rescuing(&[anon]));
        assert!(!registry.leave(anon, anon));
    }

    /// What the cluster hears of an account whose hand-off outlives its sessions: `Handing`
    /// when its last session leaves (though that one hands nothing over itself), `Left` once
    /// the hand-off is written.
    #[tokio::test]
    async fn the_cluster_hears_handing_then_left_once_the_hand_off_is_written() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let registry = Registry::telling(tx);
        let (a, (first, _inbox)) = (UserId(1), peer());
        let (b, (second, _inbox2)) = (UserId(2), peer());
        let control = first.control_for_tests();
        registry.join(a, first);
        registry.join(b, second);
        registry.log_in(a, a, BOB, "bob", 3, || {});
        registry.log_in(b, b, BOB, "bob", 3, || {});
        control.keep_mail();
        control.close(CloseReason::SlowConsumer);
        assert!(registry.leave(a, BOB), "the first hands over");
        assert!(
            !registry.leave(b, BOB),
            "the second has nothing to hand over"
        );
        registry.rescued(BOB);
        let mut heard = Vec::new();
        while let Ok((_, change)) = rx.try_recv() {
            if matches!(change, Change::Handing { .. } | Change::Left { user: BOB }) {
                heard.push(change);
            }
        }
        assert_eq!(
            heard,
            vec![Change::Handing { user: BOB }, Change::Left { user: BOB }]
        );
    }

    /// A drain here does not go live while another hub says the account's last session there
    /// is handing its relays over; that hub's `Left` (or `Arrived`) ends the wait.
    #[test]
    fn a_drain_waits_for_a_hand_off_on_another_hub() {
        const HUB: u64 = 7;
        for end in [
            Change::Left { user: BOB },
            Change::Arrived {
                user: BOB,
                name: None,
            },
        ] {
            let registry = Registry::default();
            let (conn, (session, _inbox)) = (UserId(1), peer());
            registry.join(conn, session);
            registry.remote_apply(HUB, &[Change::Handing { user: BOB }]);
            assert!(registry.is_present(BOB), "handing is present");
            registry.log_in(conn, conn, BOB, "bob", 3, || {});
            let mark = registry.write_mark(BOB);
            assert!(!mark.settled());
            assert!(!registry.try_go_live(conn, BOB, mark, || {}));
            registry.remote_apply(HUB, std::slice::from_ref(&end));
            let mark = registry.write_mark(BOB);
            assert!(mark.settled(), "after {end:?}");
            assert!(registry.try_go_live(conn, BOB, mark, || {}));
        }
    }

    /// A relay from another hub to an account draining here is held by this hub, the
    /// origin's write counted pending like a local relay's, so the drain cannot go live past
    /// it; one with no session here is left to the origin, and a live one takes it.
    #[test]
    fn a_relay_from_another_hub_to_a_draining_account_is_held_here() {
        let registry = Registry::default();
        let frame = Bytes::from_static(b"m");
        let carol = UserId(FIRST_ACCOUNT_ID + 1);
        let (conn, (session, _inbox)) = (UserId(1), peer());
        registry.join(conn, session);
        assert_eq!(
            registry.log_in(conn, conn, BOB, "bob", 3, || {}),
            Some(Joined::Draining)
        );
        let before = registry.write_mark(BOB);
        let (answer, here) = registry.route_here(&[BOB, carol], &frame, None);
        assert_eq!(here, vec![BOB], "bob drains here: written here");
        assert_eq!(answer.offline, vec![carol], "carol has no session here");
        assert!(
            !registry.try_go_live(conn, BOB, before, || {}),
            "a write was counted since the read began"
        );
        let during = registry.write_mark(BOB);
        assert!(!during.settled(), "and it is in flight");
        registry.write_done(&here);
        let settled = registry.write_mark(BOB);
        assert!(registry.try_go_live(conn, BOB, settled, || {}));
        let (live, here) = registry.route_here(&[BOB], &frame, None);
        assert_eq!((live.delivered, here), (vec![BOB], vec![]));
    }
}
