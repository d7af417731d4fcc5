//! Content types for objects that were dropped into the folder rather than uploaded.
//!
//! s3s-fs only knows a content type that came with a `PutObject`; real S3 always
//! answers with one, so files placed by hand get one guessed from their extension,
//! the way `aws s3 cp` would have set it.

/// What S3 answers for an object stored without a content type.
pub const FALLBACK: &str = "binary/octet-stream";

/// The content type for `key`, from its extension (case-insensitive).
pub fn guess(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return FALLBACK;
    };
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" | "map" => "application/json",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => FALLBACK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_extensions_any_case() {
        assert_eq!(guess("a/b/photo.JPG"), "image/jpeg");
        assert_eq!(guess("index.html"), "text/html");
    }

    #[test]
    fn unknown_or_missing_extension_falls_back() {
        assert_eq!(guess("README"), FALLBACK);
        assert_eq!(guess("dir.d/README"), FALLBACK);
        assert_eq!(guess("x.unknownext"), FALLBACK);
    }
}
