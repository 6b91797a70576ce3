//! hubbub's terminal client: a full-screen chat UI (`App` + `Action` + `update`, drawn by
//! `impl Widget for &App`) and one-shot commands for scripts.

pub mod app;
pub mod cli;
pub mod config;
pub mod event_loop;
pub mod exit;
pub mod files;
pub mod history;
pub mod identity;
pub mod incoming;
pub mod known_hubs;
pub mod layout;
pub mod logging;
pub mod net;
pub mod oneshot;
pub mod render;
pub mod sanitize;
pub mod secure;
pub mod terminal;
