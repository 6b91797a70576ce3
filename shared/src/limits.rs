//! The numbers both ends agree on. The hub sends its values in the welcome, so a client never
//! has to guess them.

use serde::{Deserialize, Serialize};

/// Largest body a relay or echo may carry: 1024 KiB. Big enough for a photo or a source file,
/// small enough that one frame never dominates a queue of 16 MiB.
pub const MAX_BODY_LEN: usize = 1024 * 1024;

/// Most receivers one relay may name. It keeps the receiver list of a maximal relay under 3 KiB
/// (255 varints of at most 10 bytes), which [`HEADER_ROOM`] relies on.
pub const MAX_RECEIVERS: usize = 255;

/// Longest file name (in bytes of UTF-8) that may travel beside a body.
pub const MAX_NAME_LEN: usize = 255;

/// Room in a frame for everything but the body: tag, request id, up to [`MAX_RECEIVERS`] ids,
/// the body kind with a name of [`MAX_NAME_LEN`] bytes and the body's length prefix. Worst case
/// is 1 + 5 + 2 + 255 * 10 + 1 + 2 + 255 + 3 = 2,819 bytes; 4 KiB leaves margin.
pub const HEADER_ROOM: usize = 4096;

/// Largest frame payload either side accepts: a maximal body plus [`HEADER_ROOM`]. A length
/// prefix above this is not a message we could ever accept, so the stream is closed on sight
/// without reading the rest.
pub const MAX_FRAME_LEN: usize = MAX_BODY_LEN + HEADER_ROOM;

/// Most ids in one answer frame to `List` (`Peers`, and since version 7 `PeersPart`): an id
/// is a varint of at most 10 bytes, so a frame of them stays under 1,000,016 bytes, within
/// [`MAX_FRAME_LEN`]. Before version 7 a `List` answer holds only the first ones.
pub const LIST_CHUNK: usize = 100_000;

/// Longest `text` of an error the hub sends, in bytes of UTF-8: room for a precise sentence,
/// never a dump. Longer texts are cut on a character boundary.
pub const MAX_ERROR_TEXT_LEN: usize = 512;

/// The limits a hub enforces, as announced in its welcome.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body in bytes.
    pub max_body: u32,
    /// Most receivers in one relay.
    pub max_receivers: u16,
    /// Longest file name in bytes.
    pub max_name: u16,
    /// Largest frame payload in bytes.
    pub max_frame: u32,
}

impl Default for Limits {
    fn default() -> Self {
        // The constants are far below u16/u32 limits; the casts cannot truncate.
        Limits {
            max_body: MAX_BODY_LEN as u32,
            max_receivers: MAX_RECEIVERS as u16,
            max_name: MAX_NAME_LEN as u16,
            max_frame: MAX_FRAME_LEN as u32,
        }
    }
}
