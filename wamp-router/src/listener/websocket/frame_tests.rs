use super::*;

/// A client's frame: masked with a fixed key.
fn client_frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = Vec::new();
    out.push(if fin { 0x80 } else { 0 } | op);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn read_all(bytes: &[u8], max: usize) -> Result<Vec<Frame>, FrameError> {
    let mut reader = FrameReader::default();
    let mut buf = BytesMut::from(bytes);
    let mut frames = Vec::new();
    loop {
        match reader.next(&mut buf, max)? {
            Next::Frame(f) => frames.push(f),
            Next::NeedMore(_) => return Ok(frames),
        }
    }
}

fn message(text: bool, payload: &[u8]) -> Frame {
    Frame::Message {
        text,
        payload: Bytes::copy_from_slice(payload),
    }
}

#[test]
fn frames_of_every_length_encoding_are_unmasked() {
    for len in [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 100_003] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let frames = read_all(&client_frame(true, opcode::BINARY, &payload), 1 << 20).unwrap();
        assert_eq!(frames, vec![message(false, &payload)], "length {len}");
    }
}

#[test]
fn a_frame_arriving_byte_by_byte_asks_for_what_it_needs() {
    let bytes = client_frame(true, opcode::TEXT, &[b'x'; 300]);
    let mut reader = FrameReader::default();
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        match reader.next(&mut buf, 1024).unwrap() {
            Next::NeedMore(n) => assert!(n > buf.len() && n <= bytes.len(), "at {i}: {n}"),
            Next::Frame(f) => panic!("a frame before its last byte: {f:?}"),
        }
        buf.extend_from_slice(&[*b]);
    }
    assert_eq!(
        reader.next(&mut buf, 1024).unwrap(),
        Next::Frame(message(true, &[b'x'; 300]))
    );
    assert!(buf.is_empty());
}

#[test]
fn fragments_are_joined_and_control_frames_may_come_between() {
    let mut bytes = client_frame(false, opcode::TEXT, b"[1,");
    bytes.extend(client_frame(true, opcode::PING, b"hi"));
    bytes.extend(client_frame(false, opcode::CONTINUATION, b"\"a"));
    bytes.extend(client_frame(true, opcode::CONTINUATION, b"\"]"));
    bytes.extend(client_frame(true, opcode::BINARY, b"\x93"));
    let frames = read_all(&bytes, 1024).unwrap();
    assert_eq!(
        frames,
        vec![
            Frame::Ping(Bytes::from_static(b"hi")),
            message(true, b"[1,\"a\"]"),
            message(false, b"\x93"),
        ]
    );
}

#[test]
fn close_frames_give_their_status() {
    let close = |payload: &[u8]| read_all(&client_frame(true, opcode::CLOSE, payload), 64);
    assert_eq!(close(b""), Ok(vec![Frame::Close(1000)]));
    assert_eq!(close(b"\x03\xe9bye"), Ok(vec![Frame::Close(1001)]));
    assert_eq!(close(b"\x0f\xa0"), Ok(vec![Frame::Close(4000)]));
    assert!(matches!(close(b"\x03"), Err(FrameError::Protocol(_))));
    assert!(matches!(close(b"\x03\xee"), Err(FrameError::Protocol(_))));
    assert!(matches!(close(b"\x03\xe8\xff"), Err(FrameError::NotUtf8)));
}

#[test]
fn what_a_client_may_not_send_is_refused() {
    let refused = |bytes: Vec<u8>| read_all(&bytes, 1024).unwrap_err();
    let mut unmasked = client_frame(true, opcode::TEXT, b"x");
    unmasked[1] &= 0x7F;
    assert_eq!(refused(unmasked).close_code(), close_code::PROTOCOL_ERROR);
    let mut reserved = client_frame(true, opcode::TEXT, b"x");
    reserved[0] |= 0x40;
    assert_eq!(refused(reserved).close_code(), close_code::PROTOCOL_ERROR);
    for op in [0x3, 0x7, 0xB, 0xF] {
        assert!(matches!(
            refused(client_frame(true, op, b"")),
            FrameError::Protocol(_)
        ));
    }
    let orphan = client_frame(true, opcode::CONTINUATION, b"x");
    assert!(matches!(refused(orphan), FrameError::Protocol(_)));
    let mut interleaved = client_frame(false, opcode::TEXT, b"a");
    interleaved.extend(client_frame(true, opcode::BINARY, b"b"));
    assert!(matches!(refused(interleaved), FrameError::Protocol(_)));
    let fragmented_ping = client_frame(false, opcode::PING, b"");
    assert!(matches!(refused(fragmented_ping), FrameError::Protocol(_)));
    let long_ping = client_frame(true, opcode::PING, &[0; 126]);
    assert!(matches!(refused(long_ping), FrameError::Protocol(_)));
    let not_utf8 = client_frame(true, opcode::TEXT, b"\xc3\x28");
    assert_eq!(refused(not_utf8).close_code(), close_code::INVALID_DATA);
}

#[test]
fn a_message_over_the_limit_is_refused_from_its_header() {
    // Only the header: the refusal does not wait for the payload.
    let whole = client_frame(true, opcode::BINARY, &[0; 2000]);
    let e = read_all(&whole[..8], 1000).unwrap_err();
    assert_eq!(e, FrameError::TooLarge { size: 2000 });
    // Fragments count together.
    let mut bytes = client_frame(false, opcode::BINARY, &[0; 600]);
    bytes.extend(client_frame(true, opcode::CONTINUATION, &[0; 600]));
    let e = read_all(&bytes, 1000).unwrap_err();
    assert_eq!(e, FrameError::TooLarge { size: 1200 });
    assert_eq!(e.close_code(), close_code::TOO_BIG);
    // A length with its top bit set.
    let mut huge = vec![0x82, 0x80 | 127];
    huge.extend_from_slice(&u64::MAX.to_be_bytes());
    huge.extend_from_slice(&[0; 4]);
    assert!(matches!(
        read_all(&huge, 1000),
        Err(FrameError::Protocol(_))
    ));
}

#[test]
fn server_headers_use_the_shortest_length() {
    for (len, header) in [
        (0, vec![0x82, 0]),
        (125, vec![0x82, 125]),
        (126, vec![0x82, 126, 0, 126]),
        (65_535, vec![0x82, 126, 0xFF, 0xFF]),
        (65_536, vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let mut out = Vec::new();
        put_header(&mut out, opcode::BINARY, len);
        assert_eq!(out, header, "length {len}");
    }
    let mut out = Vec::new();
    put_close(&mut out, 1002);
    assert_eq!(out, [0x88, 2, 0x03, 0xEA]);
}
