"""Public cohorts as their downloads are laid out -> the app's cohort manifest (``cohort manifest NAME ROOT``)."""
