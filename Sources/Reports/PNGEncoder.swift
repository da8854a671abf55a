import CZlib

/// Encodes 8-bit RGB pixels as a PNG (ISO/IEC 15948): IHDR, one zlib-deflated IDAT with filter 0 rows, IEND.
public func encodePNG(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
    precondition(rgb.count == width * height * 3 && width > 0 && height > 0)
    var raw = [UInt8](); raw.reserveCapacity((width * 3 + 1) * height)
    for y in 0..<height {
        raw.append(0)   // filter type None
        raw.append(contentsOf: rgb[(y * width * 3)..<((y + 1) * width * 3)])
    }
    var compressedSize = compressBound(UInt(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
    let status = compress2(&compressed, &compressedSize, raw, UInt(raw.count), 9)
    precondition(status == Z_OK, "zlib compress2 failed (\(status))")
    compressed.removeLast(compressed.count - Int(compressedSize))

    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    func chunk(_ type: String, _ data: [UInt8]) {
        png += bigEndian(UInt32(data.count))
        let body = Array(type.utf8) + data
        png += body
        png += bigEndian(UInt32(truncatingIfNeeded: crc32(0, body, UInt32(body.count))))
    }
    chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
    chunk("IDAT", compressed)
    chunk("IEND", [])
    return png
}

func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
