//! Loads the Coalition-attributed Airwars incidents of 2017, with Airwars' and the Coalition's
//! assessments, into the database at `DATABASE_URL`, through the repositories. A stand-in until the
//! CLI's importer exists, for trying FigureService on real data:
//!
//! ```sh
//! DATABASE_URL="host=/tmp/civcas-pg-XXXX user=civcas dbname=civcas" \
//!     cargo run -p civcas-tests --example load_airwars_2017 -- ../shared/data/airwars-syria
//! ```

use civcas_persistence::{PgStore, PoolSettings};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/airwars-syria".to_owned());
    let url = SecretString::from(std::env::var("DATABASE_URL")?);
    PgStore::migrate(&url).await?;
    let store = PgStore::new(&url, &PoolSettings::default())?;
    let loaded =
        civcas_tests::real::load_airwars_year(&store, std::path::Path::new(&dir), 2017).await;
    eprintln!(
        "{} rows read, {} rejected; wrote {} incidents and {} assessments",
        loaded.data.summary.rows,
        loaded.data.summary.rejected.len(),
        loaded.incidents,
        loaded.assessments
    );
    for rejection in &loaded.data.summary.rejected {
        eprintln!(
            "  line {} {}: {}",
            rejection.line, rejection.key, rejection.reason
        );
    }
    Ok(())
}
