//! Fake steps over a fake "world" of named resources, shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};
use tokio::sync::Notify;

/// What exists "out there" plus a log of every real mutation, in order.
#[derive(Debug, Default)]
pub struct World {
    resources: Mutex<BTreeSet<String>>,
    log: Mutex<Vec<String>>,
}

impl World {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn exists(&self, name: &str) -> bool {
        self.resources.lock().unwrap().contains(name)
    }

    pub fn resources(&self) -> Vec<String> {
        self.resources.lock().unwrap().iter().cloned().collect()
    }

    /// Every real mutation so far, e.g. `["create net", "create node", "remove node"]`.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn create(&self, name: &str) {
        self.resources.lock().unwrap().insert(name.to_owned());
        self.log.lock().unwrap().push(format!("create {name}"));
    }

    fn remove(&self, name: &str) {
        self.resources.lock().unwrap().remove(name);
        self.log.lock().unwrap().push(format!("remove {name}"));
    }
}

/// A step that creates one resource named after it on its host, idempotently.
pub struct FakeStep {
    pub name: String,
    pub host: String,
    pub world: Arc<World>,
    pub fail_run: Option<String>,
    pub fail_cleanup: Option<String>,
    /// When set, `run` signals `started` after creating its resource and then never finishes.
    pub hang: Option<Arc<Hang>>,
}

/// Makes a step hang once, and lets the test know when it is hanging.
#[derive(Debug, Default)]
pub struct Hang {
    pub started: Notify,
    used: AtomicBool,
}

impl FakeStep {
    pub fn new(name: &str, world: &Arc<World>) -> Self {
        Self {
            name: name.to_owned(),
            host: format!("{name}-host"),
            world: Arc::clone(world),
            fail_run: None,
            fail_cleanup: None,
            hang: None,
        }
    }

    pub fn failing(mut self, error: &str) -> Self {
        self.fail_run = Some(error.to_owned());
        self
    }

    pub fn failing_cleanup(mut self, error: &str) -> Self {
        self.fail_cleanup = Some(error.to_owned());
        self
    }

    pub fn hanging_once(mut self, hang: &Arc<Hang>) -> Self {
        self.hang = Some(Arc::clone(hang));
        self
    }

    pub fn boxed(self) -> Box<dyn Step> {
        Box::new(self)
    }
}

impl Step for FakeStep {
    fn title(&self) -> String {
        format!("Creating {}", self.name)
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let world = &self.world;
            ctx.wet(&self.host, format!("create {}", self.name), async {
                world.create(&self.name);
                StepResult::Ok(())
            })
            .await?;
            if let Some(hang) = &self.hang {
                if !hang.used.swap(true, Ordering::SeqCst) {
                    hang.started.notify_one();
                    std::future::pending::<()>().await;
                }
            }
            match &self.fail_run {
                Some(error) => Err(error.clone().into()),
                None => Ok(()),
            }
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            if let Some(error) = &self.fail_cleanup {
                return Err(error.clone().into());
            }
            let world = &self.world;
            ctx.wet(&self.host, format!("remove {}", self.name), async {
                world.remove(&self.name);
                StepResult::Ok(())
            })
            .await?;
            Ok(())
        })
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move { Ok(self.world.exists(&self.name)) })
    }
}
