//! The plaintext of a file envelope: its name travels inside the ciphertext with its bytes.

use crate::E2eError;

/// The plaintext of a [`crate::Kind::File`] envelope: one byte of name length, the name, the bytes.
/// The name travels inside the ciphertext, so the hub never sees it.
pub fn file_plaintext(name: &str, data: &[u8]) -> Result<Vec<u8>, E2eError> {
    let len = u8::try_from(name.len()).map_err(|_| E2eError::TooLong {
        len: name.len(),
        max: usize::from(u8::MAX),
    })?;
    let mut out = Vec::with_capacity(1 + name.len() + data.len());
    out.push(len);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// Split a [`crate::Kind::File`] plaintext into its name and bytes; `None` if it is malformed.
pub fn split_file(plaintext: &[u8]) -> Option<(&str, &[u8])> {
    let (&len, rest) = plaintext.split_first()?;
    let len = usize::from(len);
    let name = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((name, &rest[len..]))
}
