use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{register_seed_sources, source};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_error;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_then_get_returns_the_source() {
    let app = spawn_app().await;
    let coalition = pb::Source {
        homepage: Some("https://www.inherentresolve.mil/".into()),
        methodology: Some("Monthly civilian casualty reports".into()),
        ..source("cjtf-oir", pb::SourceKind::Military, Some("coalition"))
    };
    let registered = app.register_source(coalition.clone()).await.unwrap();
    assert_eq!(registered.outcome(), pb::WriteOutcome::Created);

    let got = app
        .get_source(pb::GetSourceRequest {
            source_id: "cjtf-oir".into(),
        })
        .await
        .unwrap()
        .source
        .unwrap();
    assert_eq!(got.belligerent.as_deref(), Some("coalition"));
    assert_eq!(got.kind(), pb::SourceKind::Military);
    assert_eq!(got.homepage, coalition.homepage);
    assert_eq!(got.methodology, coalition.methodology);
    assert!(got.create_time.is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_again_is_unchanged_and_with_other_attributes_already_exists() {
    let app = spawn_app().await;
    let airwars = source("airwars", pb::SourceKind::Monitor, None);
    app.register_source(airwars.clone()).await.unwrap();
    let again = app.register_source(airwars.clone()).await.unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged);

    let renamed = pb::Source {
        display_name: "Airwars.org".into(),
        ..airwars
    };
    let err = app.register_source(renamed).await.unwrap_err();
    assert_eq!(
        assert_error(&err, Code::AlreadyExists),
        "SOURCE_ALREADY_EXISTS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_not_found() {
    let app = spawn_app().await;
    let err = app
        .get_source(pb::GetSourceRequest {
            source_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "SOURCE_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_sources_pages_through_every_source_in_id_order() {
    let app = spawn_app().await;
    let ids: Vec<String> = (0..7).map(|i| format!("source-{i}")).collect();
    for id in ids.iter().rev() {
        app.register_source(source(id, pb::SourceKind::Media, None))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .list_sources(pb::ListSourcesRequest {
                page_size: Some(3),
                page_token: token,
            })
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.sources.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3, "7 sources in pages of 3");
    assert_eq!(seen, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_source_changes_only_the_masked_fields() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let update = |mask: &[&str], source: pb::Source| pb::UpdateSourceRequest {
        source: Some(source),
        update_mask: Some(civcas_proto::well_known::FieldMask {
            paths: mask.iter().map(|p| (*p).to_owned()).collect(),
        }),
        request_id: String::new(),
    };
    let changed = app
        .update_source(update(
            &["display_name", "belligerent"],
            pb::Source {
                id: "cjtf-oir".into(),
                display_name: "Combined Joint Task Force – Operation Inherent Resolve".into(),
                // Not in the mask: must not change.
                kind: pb::SourceKind::Media.into(),
                belligerent: None,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(changed.outcome(), pb::WriteOutcome::Updated);
    let source = changed.source.unwrap();
    assert_eq!(
        source.display_name,
        "Combined Joint Task Force – Operation Inherent Resolve"
    );
    assert_eq!(
        source.belligerent, None,
        "a masked unset optional is cleared"
    );
    assert_eq!(source.kind(), pb::SourceKind::Military);
    let instant = |t: Option<civcas_proto::well_known::Timestamp>| t.map(|t| (t.seconds, t.nanos));
    assert!(instant(source.update_time) > instant(source.create_time));

    let same = app
        .update_source(update(
            &["belligerent"],
            pb::Source {
                id: "cjtf-oir".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(same.outcome(), pb::WriteOutcome::Unchanged);

    let err = app
        .update_source(update(
            &["id"],
            pb::Source {
                id: "cjtf-oir".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    civcas_tests::status::assert_invalid_field(&err, "update_mask");
}
