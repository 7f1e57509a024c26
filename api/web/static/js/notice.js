// The print button of the site-inspection notice (scripts come from this service only: CSP).
document.getElementById("print")?.addEventListener("click", () => window.print());
