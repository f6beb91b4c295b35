//! Job groups and cancellation on [`Context`] (Spark's `setJobGroup`, `clearJobGroup`,
//! `setJobDescription`, `cancelJobGroup`, `cancelAllJobs`, `cancelJob`).
//!
//! The group is a local property of the calling thread: every job the thread starts
//! afterwards belongs to it (and carries it to listeners in
//! [`crate::scheduler::JobStart::properties`]); other threads are not affected.
//! Cancelling a group fails its running jobs with [`crate::Error::JobCancelled`] at once;
//! their queued tasks do not start and their running tasks stop at their next record.
//! A job of the group started after the cancel runs normally, as in Spark.

use crate::context::Context;
use crate::scheduler::{
    local_property, set_local_property, JOB_DESCRIPTION_PROPERTY, JOB_GROUP_PROPERTY,
    JOB_INTERRUPT_ON_CANCEL_PROPERTY,
};

impl Context {
    /// Puts the jobs this thread starts from now on in group `group_id`, described by
    /// `description` (Spark's `setJobGroup`). `interrupt_on_cancel` is recorded as the
    /// thread's `spate.job.interruptOnCancel` property; spate's tasks always stop at
    /// their next record when their job is cancelled (Rust threads cannot be interrupted
    /// in a blocking call, so there is nothing more it could do).
    pub fn set_job_group(&self, group_id: &str, description: &str, interrupt_on_cancel: bool) {
        set_local_property(JOB_GROUP_PROPERTY, Some(group_id));
        set_local_property(JOB_DESCRIPTION_PROPERTY, Some(description));
        set_local_property(
            JOB_INTERRUPT_ON_CANCEL_PROPERTY,
            Some(if interrupt_on_cancel { "true" } else { "false" }),
        );
    }

    /// Takes this thread out of its job group (Spark's `clearJobGroup`); the description
    /// goes too.
    pub fn clear_job_group(&self) {
        set_local_property(JOB_GROUP_PROPERTY, None);
        set_local_property(JOB_DESCRIPTION_PROPERTY, None);
        set_local_property(JOB_INTERRUPT_ON_CANCEL_PROPERTY, None);
    }

    /// This thread's job group, if it has one.
    pub fn job_group(&self) -> Option<String> {
        local_property(JOB_GROUP_PROPERTY)
    }

    /// Describes the jobs this thread starts from now on (Spark's `setJobDescription`);
    /// `None` removes the description.
    pub fn set_job_description(&self, description: Option<&str>) {
        set_local_property(JOB_DESCRIPTION_PROPERTY, description);
    }

    /// Sets a local property of this thread that every job it starts carries (Spark's
    /// `setLocalProperty`); `None` removes it.
    pub fn set_local_property(&self, key: &str, value: Option<&str>) {
        set_local_property(key, value);
    }

    /// This thread's local property `key` (Spark's `getLocalProperty`).
    pub fn get_local_property(&self, key: &str) -> Option<String> {
        local_property(key)
    }

    /// Cancels the running jobs of group `group_id`, whichever thread started them
    /// (Spark's `cancelJobGroup`): each fails with [`crate::Error::JobCancelled`]. Returns
    /// the ids of the jobs cancelled. Jobs started in the group afterwards run normally.
    pub fn cancel_job_group(&self, group_id: &str) -> Vec<usize> {
        self.scheduler().cancel_job_group(group_id)
    }

    /// Cancels every running job (Spark's `cancelAllJobs`); returns their ids.
    pub fn cancel_all_jobs(&self) -> Vec<usize> {
        self.scheduler().cancel_all_jobs()
    }

    /// Cancels job `job_id` if it is running (Spark's `cancelJob`); whether it was.
    pub fn cancel_job(&self, job_id: usize) -> bool {
        self.scheduler().cancel_job(job_id)
    }
}
