// The private PostgreSQL moved to annex/testing (ManagedPostgres); this name stays for the feed tests.
export { ManagedPostgres as PrivatePostgres } from "annex/testing";
