//! Test support: the test kit's hub in its own runtime, so that test bodies can be plain
//! blocking code that drives real `tui-client` processes.
#![allow(unused_imports)]

pub use testkit::blocking::{
    patterned_bytes, wait_for_file, wait_until, BlockingHub as TestHub, WAIT,
};
