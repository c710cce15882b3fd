//! Which subtopic a job teaches: the one its dispatch metadata names, checked
//! against the curriculum, or, for a room whose token named none, the
//! configured default or else the curriculum's first subtopic.

use futures::FutureExt as _;
use futures::future::BoxFuture;

use super::jobs::Refusal;
use crate::store::{Store, StoreError};

/// Where the worker looks subtopics up when a job is offered (the store in
/// production; tests may stand in their own).
pub trait SubtopicCatalog: Send + Sync + 'static {
    /// Whether `id` names a subtopic of the curriculum.
    fn has_subtopic<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>>;
    /// The curriculum's first subtopic in teaching order (first topic by
    /// position, its first subtopic by position), if there is any.
    fn first_subtopic(&self) -> BoxFuture<'_, anyhow::Result<Option<String>>>;
}

impl SubtopicCatalog for Store {
    fn has_subtopic<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
        async move {
            match self.content().subtopic(id).await {
                Ok(_) => Ok(true),
                Err(StoreError::NotFound { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        .boxed()
    }

    fn first_subtopic(&self) -> BoxFuture<'_, anyhow::Result<Option<String>>> {
        async move {
            let content = self.content();
            for topic in content.list_topics().await? {
                match content.list_subtopics(&topic.id).await {
                    Ok(subtopics) => {
                        if let Some(first) = subtopics.into_iter().next() {
                            return Ok(Some(first.id));
                        }
                    }
                    // Deleted between the two reads: look at the next topic.
                    Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(None)
        }
        .boxed()
    }
}

/// Why no lesson could be chosen for a job, with the sentence logged for it.
#[derive(Debug)]
pub(crate) struct NoLesson {
    pub refusal: Refusal,
    pub reason: String,
}

impl NoLesson {
    fn unknown(reason: String) -> Self {
        Self {
            refusal: Refusal::UnknownSubtopic,
            reason,
        }
    }

    fn unavailable(error: &anyhow::Error) -> Self {
        Self {
            refusal: Refusal::CurriculumUnavailable,
            reason: format!("the curriculum could not be read ({error:#}); check the database"),
        }
    }
}

/// The subtopic to teach: `requested` if the curriculum has it; without one,
/// `default` (the worker's configured default subtopic) if the curriculum has
/// it, or else the curriculum's first subtopic.
pub(crate) async fn choose(
    catalog: &dyn SubtopicCatalog,
    default: Option<&str>,
    requested: Option<&str>,
) -> Result<String, NoLesson> {
    let exists = |id: &str| {
        let id = id.to_owned();
        async move {
            catalog
                .has_subtopic(&id)
                .await
                .map_err(|e| NoLesson::unavailable(&e))
        }
    };
    match (requested, default) {
        (Some(id), _) => {
            if exists(id).await? {
                Ok(id.to_owned())
            } else {
                Err(NoLesson::unknown(format!(
                    "the job asks for subtopic {id:?}, which is not in the curriculum"
                )))
            }
        }
        (None, Some(id)) => {
            if exists(id).await? {
                Ok(id.to_owned())
            } else {
                Err(NoLesson::unknown(format!(
                    "the job names no subtopic and the default subtopic {id:?} \
                     (--default-subtopic) is not in the curriculum"
                )))
            }
        }
        (None, None) => match catalog.first_subtopic().await {
            Ok(Some(first)) => Ok(first),
            Ok(None) => Err(NoLesson::unknown(
                "the job names no subtopic and the curriculum has none; import a curriculum \
                 (`lectern content import`)"
                    .to_owned(),
            )),
            Err(e) => Err(NoLesson::unavailable(&e)),
        },
    }
}
