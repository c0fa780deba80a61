"""End-to-end tests in a real browser (headless Debian Chromium, driven by Playwright) against `eb_tools local`."""
