// The language switcher in every page's header: the choice is kept in a preference
// cookie holding only the language tag (read by the server to render the page), and
// the page reloads in place, its link's fragment (the key) kept.
const LANGUAGE_COOKIE = "lang";
const YEAR = 365 * 24 * 3600;

const choice = document.getElementById("language-choice");
if (choice) {
  choice.addEventListener("change", () => {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${LANGUAGE_COOKIE}=${encodeURIComponent(choice.value)}; Path=/; Max-Age=${YEAR}; SameSite=Lax${secure}`;
    location.reload();
  });
}
