//! Just enough HTTP/1.1 for the proxy: read one request or one response from a
//! keep-alive connection (bodies framed by `Content-Length`, `Transfer-Encoding:
//! chunked`, or the end of the connection), keep its exact bytes to forward them, and
//! write the proxy's own answers in the shape DynamoDB sends them.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest request or status line plus headers accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted (DynamoDB requests are at most a few MiB).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One HTTP message as read from the wire.
#[derive(Debug)]
pub(super) struct Message {
    /// `POST / HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    pub headers: Vec<(String, String)>,
    /// The payload, without chunk framing.
    pub body: Vec<u8>,
    /// The message exactly as it arrived (head and framed body), to forward as is.
    pub raw: Vec<u8>,
    /// The sender closes the connection after this message.
    pub close: bool,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        self.start.split(' ').nth(1)?.parse().ok()
    }
}

/// One side of a proxied connection: the stream and what was read from it but not
/// consumed yet (the start of the next message on a keep-alive connection).
pub(super) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
        }
    }

    /// An idle connection the peer has closed (or that holds bytes nobody asked for):
    /// not to be used for another request.
    pub fn is_stale(&self) -> bool {
        if !self.buffered().is_empty() {
            return true;
        }
        let mut probe = [0u8; 1];
        !matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more bytes into the buffer; `false` at the end of the stream.
    async fn fill(&mut self) -> io::Result<bool> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + 16 * 1024, 0);
        let got = self.stream.read(&mut self.buf[len..]).await;
        match got {
            Ok(n) => {
                self.buf.truncate(len + n);
                Ok(n > 0)
            }
            Err(e) => {
                self.buf.truncate(len);
                Err(e)
            }
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// The next line ending in CRLF (without it), appended with its CRLF to `raw`.
    async fn line(&mut self, raw: &mut Vec<u8>) -> io::Result<String> {
        loop {
            if let Some(i) = find(self.buffered(), b"\r\n") {
                let line = &self.buf[self.pos..self.pos + i];
                let text = std::str::from_utf8(line)
                    .map_err(|_| bad("line is not UTF-8"))?
                    .to_string();
                raw.extend_from_slice(&self.buf[self.pos..self.pos + i + 2]);
                self.pos += i + 2;
                return Ok(text);
            }
            if self.buffered().len() > MAX_HEAD {
                return Err(bad("line too long"));
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Exactly `n` bytes, appended to `body` and `raw`.
    async fn take(&mut self, n: usize, body: &mut Vec<u8>, raw: &mut Vec<u8>) -> io::Result<()> {
        while self.buffered().len() < n {
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        body.extend_from_slice(bytes);
        raw.extend_from_slice(bytes);
        self.pos += n;
        Ok(())
    }

    /// The head of the next message, `None` if the peer closed the connection
    /// cleanly between messages.
    async fn head(&mut self) -> io::Result<Option<(String, Vec<(String, String)>, Vec<u8>)>> {
        loop {
            // Stray line breaks between messages are allowed (RFC 9112 §2.2).
            while self.buffered().starts_with(b"\r\n") {
                self.pos += 2;
            }
            if let Some(i) = find(self.buffered(), b"\r\n\r\n") {
                let raw = self.buf[self.pos..self.pos + i + 4].to_vec();
                self.pos += i + 4;
                let text = std::str::from_utf8(&raw[..i]).map_err(|_| bad("head is not UTF-8"))?;
                let mut lines = text.split("\r\n");
                let start = lines.next().unwrap_or_default().to_string();
                let mut headers = Vec::new();
                for line in lines {
                    let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
                    headers.push((name.trim().to_string(), value.trim().to_string()));
                }
                return Ok(Some((start, headers, raw)));
            }
            if self.buffered().len() > MAX_HEAD {
                return Err(bad("head too long"));
            }
            if !self.fill().await? {
                return if self.buffered().is_empty() {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    async fn body(&mut self, framing: Framing, raw: &mut Vec<u8>) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        match framing {
            Framing::None => {}
            Framing::Length(n) => {
                if n > MAX_BODY {
                    return Err(bad("body too large"));
                }
                self.take(n, &mut body, raw).await?;
            }
            Framing::Chunked => loop {
                let line = self.line(raw).await?;
                let size = line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.line(raw).await?.is_empty() {}
                    break;
                }
                if body.len() + size > MAX_BODY {
                    return Err(bad("body too large"));
                }
                self.take(size, &mut body, raw).await?;
                let mut crlf = Vec::new();
                self.take(2, &mut crlf, raw).await?;
                if crlf != b"\r\n" {
                    return Err(bad("bad chunk end"));
                }
            },
            Framing::UntilClose => loop {
                let rest = self.buffered().to_vec();
                body.extend_from_slice(&rest);
                raw.extend_from_slice(&rest);
                self.pos = self.buf.len();
                if body.len() > MAX_BODY {
                    return Err(bad("body too large"));
                }
                if !self.fill().await? {
                    break;
                }
            },
        }
        Ok(body)
    }

    fn framing(headers: &[(String, String)], allow_until_close: bool) -> io::Result<Framing> {
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding")
                && v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
        });
        if chunked {
            return Ok(Framing::Chunked);
        }
        match headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            Some((_, v)) => Ok(Framing::Length(
                v.trim().parse().map_err(|_| bad("bad Content-Length"))?,
            )),
            None if allow_until_close => Ok(Framing::UntilClose),
            None => Ok(Framing::None),
        }
    }

    /// The next request, `None` when the client closed the connection between requests.
    /// A client waiting for `100 Continue` gets it before its body is read.
    pub async fn read_request(&mut self) -> io::Result<Option<Message>> {
        let Some((start, headers, mut raw)) = self.head().await? else {
            return Ok(None);
        };
        let framing = Self::framing(&headers, false)?;
        let expects_continue = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue")
        });
        if expects_continue && !matches!(framing, Framing::None | Framing::Length(0)) {
            self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = self.body(framing, &mut raw).await?;
        let mut msg = Message {
            start,
            headers,
            body,
            raw,
            close: false,
        };
        msg.close = msg.has_token("connection", "close") || msg.start.ends_with("HTTP/1.0");
        Ok(Some(msg))
    }

    /// The answer to a request (interim `1xx` answers are skipped).
    pub async fn read_response(&mut self, to_head: bool) -> io::Result<Message> {
        loop {
            let (start, headers, mut raw) = self
                .head()
                .await?
                .ok_or(io::Error::from(io::ErrorKind::UnexpectedEof))?;
            let status: u16 = start
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("bad status line"))?;
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let framing = if to_head || status == 204 || status == 304 || status < 200 {
                Framing::None
            } else {
                Self::framing(&headers, true)?
            };
            let until_close = matches!(framing, Framing::UntilClose);
            let body = self.body(framing, &mut raw).await?;
            let mut msg = Message {
                start,
                headers,
                body,
                raw,
                close: until_close,
            };
            msg.close |= msg.has_token("connection", "close") || msg.start.starts_with("HTTP/1.0");
            return Ok(msg);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An answer of the proxy's own, with the headers DynamoDB sends (`x-amzn-RequestId`,
/// `x-amz-crc32` of the body, the JSON 1.0 content type).
pub(super) fn json_response(status: u16, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        _ => "Status",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Date: {date}\r\n\
         x-amzn-RequestId: {id}\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         x-amz-crc32: {crc}\r\n\
         Content-Length: {len}\r\n\
         \r\n\
         {body}",
        date = http_date(SystemTime::now()),
        id = request_id(),
        crc = crc32(body.as_bytes()),
        len = body.len(),
    )
    .into_bytes()
}

/// A request id in the real service's shape: 52 characters of `A-Z0-9`.
fn request_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..52)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// CRC-32 (IEEE 802.3), as DynamoDB's `x-amz-crc32` header carries it.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `Tue, 01 Dec 2026 18:29:04 GMT` (RFC 9110 IMF-fixdate).
pub(super) fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpListener;

    #[test]
    fn crc32_matches_dynamodb_local() {
        // DynamoDB Local answers `{}` with `x-amz-crc32: 2745614147`.
        assert_eq!(crc32(b"{}"), 2_745_614_147);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_149_744);
        assert_eq!(http_date(t), "Tue, 01 Dec 2026 18:29:04 GMT");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    /// A connected pair: what is written to the first is read from the returned `Conn`.
    async fn pair() -> (TcpStream, Conn) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (client.unwrap(), Conn::new(accepted.unwrap().0))
    }

    #[tokio::test]
    async fn keep_alive_requests_are_read_one_by_one_with_their_exact_bytes() {
        let (mut tx, mut conn) = pair().await;
        let first = "POST / HTTP/1.1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\ncontent-length: 4\r\n\r\n{\"a\"";
        let second = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
        // Written in small pieces: the reader must wait for whole messages.
        let all = format!("{first}{second}");
        for piece in all.as_bytes().chunks(7) {
            tx.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
        drop(tx);
        let a = conn.read_request().await.unwrap().unwrap();
        assert_eq!(a.header("x-amz-target"), Some("DynamoDB_20120810.GetItem"));
        assert_eq!(a.body, b"{\"a\"");
        assert_eq!(a.raw, first.as_bytes());
        assert!(!a.close);
        let b = conn.read_request().await.unwrap().unwrap();
        assert_eq!(b.body, b"abcde");
        assert_eq!(b.raw, second.as_bytes());
        assert!(b.close);
        assert!(conn.read_request().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn responses_by_length_chunks_or_close_and_interim_answers_skipped() {
        let (mut tx, mut conn) = pair().await;
        let chunked = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let sized = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
        let no_body = "HTTP/1.1 204 No Content\r\n\r\n";
        let until_close = "HTTP/1.1 200 OK\r\n\r\nthe rest";
        tx.write_all(format!("{chunked}{sized}{no_body}{until_close}").as_bytes())
            .await
            .unwrap();
        drop(tx);
        let r = conn.read_response(false).await.unwrap();
        assert_eq!((r.status(), r.body.as_slice()), (Some(200), &b"hello"[..]));
        assert!(!r.close);
        let r = conn.read_response(false).await.unwrap();
        assert_eq!((r.status(), r.body.as_slice()), (Some(400), &b"{}"[..]));
        assert_eq!(r.raw, sized.as_bytes());
        let r = conn.read_response(false).await.unwrap();
        assert_eq!((r.status(), r.body.len()), (Some(204), 0));
        let r = conn.read_response(false).await.unwrap();
        assert_eq!(r.body, b"the rest");
        assert!(r.close);
    }

    #[tokio::test]
    async fn truncated_messages_are_errors_not_messages() {
        let (mut tx, mut conn) = pair().await;
        tx.write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .unwrap();
        drop(tx);
        assert!(conn.read_request().await.is_err());
        let (mut tx, mut conn) = pair().await;
        tx.write_all(b"HTTP/1.1 200 OK\r\nContent-Le")
            .await
            .unwrap();
        drop(tx);
        assert!(conn.read_response(false).await.is_err());
        let (mut tx, mut conn) = pair().await;
        tx.write_all(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
            .await
            .unwrap();
        assert!(conn.read_request().await.is_err());
    }
}
