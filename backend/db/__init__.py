"""The data layer: engine, tables and the queries the domain runs."""
