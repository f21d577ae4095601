//! The fake estate's Amazon S3: conditional GetObject and PutObject, ListObjectsV2 (path-style).

use bytes::Bytes;

use super::{answer, Answer, State};

impl State {
    pub(super) fn s3(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &hyper::HeaderMap,
        body: Bytes,
    ) -> Answer {
        let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        let xml_error = |status: u16, code: &str| {
            answer(
                status,
                &[("content-type", "application/xml".into())],
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"),
            )
        };
        let key = path.trim_start_matches('/').to_string();
        if method == "GET" && query.contains("list-type=2") {
            self.count("ListObjectsV2");
            let prefix = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("prefix="))
                .unwrap_or_default()
                .replace("%2F", "/");
            let bucket = key.trim_end_matches('/');
            let objects = self.objects.lock().unwrap();
            let keys: Vec<String> = objects
                .keys()
                .filter_map(|k| k.strip_prefix(&format!("{bucket}/")))
                .filter(|k| k.starts_with(&prefix))
                .map(|k| format!("<Contents><Key>{k}</Key></Contents>"))
                .collect();
            return answer(
                200,
                &[("content-type", "application/xml".into())],
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{}</KeyCount><IsTruncated>false</IsTruncated>{}</ListBucketResult>", keys.len(), keys.concat()),
            );
        }
        let mut objects = self.objects.lock().unwrap();
        match method {
            "GET" => match objects.get(&key) {
                None => {
                    self.count("GetObject");
                    xml_error(404, "NoSuchKey")
                }
                Some((_, etag)) if header("if-none-match") == Some(etag.as_str()) => {
                    self.count("GetObject 304");
                    answer(304, &[("etag", etag.clone())], Bytes::new())
                }
                Some((bytes, etag)) => {
                    self.count("GetObject");
                    answer(
                        200,
                        &[
                            ("etag", etag.clone()),
                            ("content-type", "application/gzip".into()),
                        ],
                        bytes.clone(),
                    )
                }
            },
            "PUT" => {
                let current = objects.get(&key).map(|(_, e)| e.clone());
                let refused = match (header("if-match"), header("if-none-match")) {
                    (Some(want), _) => current.as_deref() != Some(want),
                    (None, Some("*")) => current.is_some(),
                    _ => false,
                };
                if refused {
                    self.count("PutObject 412");
                    return xml_error(412, "PreconditionFailed");
                }
                self.count("PutObject");
                let mut n = self.next_etag.lock().unwrap();
                *n += 1;
                let etag = format!("\"{:032x}\"", *n);
                objects.insert(key, (body.to_vec(), etag.clone()));
                answer(200, &[("etag", etag)], Bytes::new())
            }
            _ => xml_error(405, "MethodNotAllowed"),
        }
    }
}
