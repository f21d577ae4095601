//! Text cut to a number of characters (not bytes: never inside a character), `…` marking the
//! cut: a hook's message within what CloudFormation shows, a table cell within its width.

/// `text` if it has at most `max` characters; else its first `max - 1` and `…`.
pub fn within_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_at_characters_with_an_ellipsis() {
        assert_eq!(within_chars("linux/amd64", 11), "linux/amd64");
        assert_eq!(within_chars("linux/amd64", 6), "linux…");
        assert_eq!(within_chars("ééé", 2), "é…");
    }
}
