package web

// Version is what the tests edit to see a new build serving.
const Version = "v1"
