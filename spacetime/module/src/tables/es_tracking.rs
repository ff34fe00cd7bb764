use spacetimedb::table;

/// How far a downstream `eventsourcing` application has processed an upstream one: the last
/// notification id of `application_name` recorded in `store`. It only moves forward.
#[table(
    name = es_tracking,
    public,
    index(name = es_tracking_by_application, btree(columns = [store, application_name]))
)]
#[derive(Clone, Debug)]
pub struct EsTracking {
    #[primary_key]
    #[auto_inc]
    pub row_id: u64,
    pub store: String,
    pub application_name: String,
    pub notification_id: u64,
}
