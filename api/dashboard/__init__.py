"""The dashboard: a read-only web view of the tree for admins, served by the API process."""
