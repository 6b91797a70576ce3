//! App::update tests.
