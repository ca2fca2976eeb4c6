//! Reading every page of a token-paginated API, for callers that have no SDK paginator.
//!
//! The helper follows `next_token` until the API stops returning one, refuses to loop when an
//! API repeats a token (a known emulator and API bug shape), and on a failed page keeps the
//! items already read, so the caller can record the error and label its result partial
//! instead of losing what it had.

use std::future::Future;

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` or empty means this was the last page.
    pub next_token: Option<String>,
}

/// Why reading pages stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PaginationError<E> {
    /// Fetching a page failed.
    #[error("reading page {page} failed")]
    Fetch {
        /// The 1-based page that failed.
        page: usize,
        /// What the API said.
        #[source]
        source: E,
    },
    /// The API returned a token it had already returned: following it would loop forever.
    #[error("page {page} repeated an earlier pagination token; stopped to avoid a loop")]
    RepeatedToken {
        /// The 1-based page that repeated the token.
        page: usize,
    },
    /// More pages than the caller allowed.
    #[error("stopped after {limit} pages; more remain")]
    TooManyPages {
        /// The limit that was reached.
        limit: usize,
    },
}

/// Every item read, and whether reading completed.
#[derive(Debug)]
pub struct Collected<T, E> {
    /// The items of every page that was read, in order.
    pub items: Vec<T>,
    /// How many pages were read successfully.
    pub pages: usize,
    /// `Ok` when the last page was reached; otherwise why it was not (the items are partial).
    pub outcome: Result<(), PaginationError<E>>,
}

impl<T, E> Collected<T, E> {
    /// The items when complete, or the error (dropping the partial items).
    pub fn into_result(self) -> Result<Vec<T>, PaginationError<E>> {
        self.outcome.map(|()| self.items)
    }
}

/// Calls `fetch(token)` from the first page (`None`) until no next token, at most `max_pages`
/// times.
pub async fn collect_pages<T, E, F, Fut>(mut fetch: F, max_pages: usize) -> Collected<T, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let mut items = Vec::new();
    let mut seen_tokens: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        if pages == max_pages {
            return Collected {
                items,
                pages,
                outcome: Err(PaginationError::TooManyPages { limit: max_pages }),
            };
        }
        let page = match fetch(token.clone()).await {
            Ok(page) => page,
            Err(source) => {
                return Collected {
                    items,
                    pages,
                    outcome: Err(PaginationError::Fetch {
                        page: pages + 1,
                        source,
                    }),
                };
            }
        };
        pages += 1;
        items.extend(page.items);
        match page.next_token.filter(|t| !t.is_empty()) {
            None => {
                return Collected {
                    items,
                    pages,
                    outcome: Ok(()),
                };
            }
            Some(next) if seen_tokens.contains(&next) => {
                return Collected {
                    items,
                    pages,
                    outcome: Err(PaginationError::RepeatedToken { page: pages }),
                };
            }
            Some(next) => {
                seen_tokens.push(next.clone());
                token = Some(next);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // case tables read best inline
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits are all immediately ready (no executor needed).
    fn block_on<F: Future>(fut: F) -> F::Output {
        let mut fut = pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// A fake API: token -> (items, next token) or an error message.
    type Script =
        HashMap<Option<&'static str>, Result<(Vec<u32>, Option<&'static str>), &'static str>>;

    fn run(
        script: &Script,
        max_pages: usize,
    ) -> (Vec<u32>, usize, Result<(), String>, Vec<Option<String>>) {
        let mut calls = Vec::new();
        let collected = block_on(collect_pages(
            |token: Option<String>| {
                calls.push(token.clone());
                let entry = script
                    .iter()
                    .find(|(k, _)| k.map(str::to_owned) == token)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Err("unexpected token"));
                async move {
                    entry.map(|(items, next)| Page {
                        items,
                        next_token: next.map(str::to_owned),
                    })
                }
            },
            max_pages,
        ));
        let outcome = collected.outcome.map_err(|e| e.to_string());
        (collected.items, collected.pages, outcome, calls)
    }

    #[test]
    fn reads_pages_until_no_token() {
        let cases: Vec<(&str, Script, Vec<u32>, usize, Result<(), String>)> = vec![
            (
                "single page",
                HashMap::from([(None, Ok((vec![1, 2], None)))]),
                vec![1, 2],
                1,
                Ok(()),
            ),
            (
                "three pages",
                HashMap::from([
                    (None, Ok((vec![1], Some("a")))),
                    (Some("a"), Ok((vec![2], Some("b")))),
                    (Some("b"), Ok((vec![3], None))),
                ]),
                vec![1, 2, 3],
                3,
                Ok(()),
            ),
            (
                "empty token ends",
                HashMap::from([(None, Ok((vec![7], Some(""))))]),
                vec![7],
                1,
                Ok(()),
            ),
            (
                "empty middle page continues",
                HashMap::from([
                    (None, Ok((vec![], Some("a")))),
                    (Some("a"), Ok((vec![5], None))),
                ]),
                vec![5],
                2,
                Ok(()),
            ),
            (
                "failure keeps earlier items",
                HashMap::from([
                    (None, Ok((vec![1, 2], Some("a")))),
                    (Some("a"), Err("AccessDenied")),
                ]),
                vec![1, 2],
                1,
                Err("reading page 2 failed".into()),
            ),
            (
                "repeated token stops",
                HashMap::from([
                    (None, Ok((vec![1], Some("a")))),
                    (Some("a"), Ok((vec![2], Some("a")))),
                ]),
                vec![1, 2],
                2,
                Err("page 2 repeated an earlier pagination token; stopped to avoid a loop".into()),
            ),
        ];
        for (name, script, items, pages, outcome) in cases {
            let (got_items, got_pages, got_outcome, _) = run(&script, 100);
            assert_eq!(got_items, items, "{name}");
            assert_eq!(got_pages, pages, "{name}");
            assert_eq!(got_outcome, outcome, "{name}");
        }
    }

    #[test]
    fn passes_each_token_back_and_honours_the_page_limit() {
        let script: Script = HashMap::from([
            (None, Ok((vec![1], Some("a")))),
            (Some("a"), Ok((vec![2], Some("b")))),
            (Some("b"), Ok((vec![3], None))),
        ]);
        let (_, _, _, calls) = run(&script, 100);
        assert_eq!(calls, vec![None, Some("a".into()), Some("b".into())]);

        let (items, pages, outcome, _) = run(&script, 2);
        assert_eq!(items, vec![1, 2]);
        assert_eq!(pages, 2);
        assert_eq!(outcome, Err("stopped after 2 pages; more remain".into()));
    }

    #[test]
    fn into_result_drops_partial_items_only_on_error() {
        let ok: Collected<u32, &str> = Collected {
            items: vec![1],
            pages: 1,
            outcome: Ok(()),
        };
        assert_eq!(ok.into_result().unwrap(), vec![1]);
        let err: Collected<u32, &str> = Collected {
            items: vec![1],
            pages: 1,
            outcome: Err(PaginationError::TooManyPages { limit: 1 }),
        };
        assert!(err.into_result().is_err());
    }
}
