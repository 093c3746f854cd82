//! Jekyll compatibility: Liquid rendered before Markdown with the `liquid`
//! crate. (Being built under issue 3; until then the body passes through.)

use crate::error::{Problem, Result};
use crate::post::Post;
use crate::site::Site;

pub struct Engine;

pub struct Output {
    pub text: String,
    pub warnings: Vec<Problem>,
}

impl Engine {
    pub fn new(_site: &Site) -> Result<Engine> {
        Ok(Engine)
    }

    pub fn render(&self, post: &Post) -> Result<Output, Vec<Problem>> {
        Ok(Output {
            text: post.body.clone(),
            warnings: Vec::new(),
        })
    }
}
