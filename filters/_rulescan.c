/* filters._rulescan: one pass over a caption that proves which caption rules cannot fire.
 *
 * The rules themselves stay in Python (filters/caption_normalise.py, camera.py, filename.py,
 * boilerplate.py): they are the definition. This scanner only answers, for printable-ASCII text,
 * "this rule certainly returns keep / leaves the text unchanged", from necessary conditions that
 * the Python rules test first anyway (no digit, no dot, a first word that is content ...). A set
 * bit is a proof; a clear bit means "ask the Python rule". So the chain's verdicts are the same
 * with or without this module (tests/test_rulescan.py checks each bit against its rule), and
 * the common caption, which no rule touches, costs one C pass instead of a dozen regex calls.
 *
 * Scanner(...).text_mask(text, max_chars) -> int of the bits below, 0 for non-ASCII text.
 * Scanner(...).url_is_plain(url, max_chars) -> True when filters.urls.url_problem(url) is None
 *   for a plain 'http(s)://host/path' URL without deny list or size hints.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define NORMALISED 1      /* normalise_text(text, max_chars) == (text, False) */
#define SUFFIX_KEPT 2     /* camera.strip_camera_suffix(text) is text */
#define NOT_FILENAME 4    /* filename.is_file_name(text) is False */
#define NOT_BOILERPLATE 8 /* boilerplate.is_boilerplate(text) is False */
#define NOT_CAMERA 16     /* camera.is_camera_metadata(text) is False */

/* Longer captions are rare and get no proofs: they would need a heap buffer for little gain. */
#define MAX_SCAN 2048

/* A tuple of ASCII str kept as C strings: the hint tests run per caption. */
typedef struct {
    Py_ssize_t count;
    const char **text; /* point into the tuple's str objects, which the Scanner keeps alive */
    Py_ssize_t *length;
    unsigned char starts[128]; /* 1 for the first character of some needle: one pass finds them all */
} Needles;

enum {
    GEAR_HINTS, EXPOSURE_WORDS, TOOL_WORD_STARTS, TOOL_NAME_STARTS, SEQUENCE_WORDS, FORUM_WORDS, RESULT_PREFIXES,
    EXTENSION_ENDS, N_NEEDLES
};
static const char *NEEDLE_NAMES[N_NEEDLES] = {"gear_hints",     "exposure_words", "tool_word_starts", "tool_name_starts",
                                              "sequence_words", "forum_words",    "result_prefixes",  "extension_ends"};

typedef struct {
    PyObject_HEAD
    PyObject *boilerplate_words; /* generic image words and stop words: not content */
    PyObject *camera_words;      /* makers, device brands, gear and stop words: not content */
    PyObject *non_photo_extensions;
    PyObject *counter_prefixes; /* 'img', 'dsc', 'p' ...: camera counters, 'IMG_0976' */
    PyObject *line_anchors;     /* camera makers, lines and short codes: a line word may follow them */
    PyObject *tuples[N_NEEDLES];
    Needles needles[N_NEEDLES];
    /* gear_hints: substrings that send a separated segment to the camera rules;
     * exposure_words: the exposure pattern's alternatives without a digit ('aperture');
     * tool_word_starts: 'untitled', 'screenshot' ...: file-name shapes without a digit;
     * tool_name_starts: tools that name files with a word and a number ('WhatsApp Image 2017');
     * sequence_words: 'photo' ... in 'photo 3 of 12';
     * forum_words: words every forum-attachment pattern holds;
     * result_prefixes: 'image result for ...' starts;
     * extension_ends: '.jpg', '.png' ...: what _EXTENSION ends with (or a closing bracket). */
} Scanner;

static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_alpha(char c) { return is_lower(c) || is_upper(c); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static char to_lower(char c) { return is_upper(c) ? (char)(c + 32) : c; }

static int contains_any(const char *buf, Py_ssize_t n, const Needles *needles) {
    for (Py_ssize_t at = 0; at < n; at++) {
        if (!needles->starts[(unsigned char)buf[at]]) continue;
        for (Py_ssize_t i = 0; i < needles->count; i++) {
            Py_ssize_t len = needles->length[i];
            const char *needle = needles->text[i];
            if (needle[0] == buf[at] && at + len <= n && memcmp(buf + at, needle, (size_t)len) == 0) return 1;
        }
    }
    return 0;
}

static int starts_with_any(const char *buf, Py_ssize_t n, const Needles *needles) {
    for (Py_ssize_t i = 0; i < needles->count; i++)
        if (needles->length[i] <= n && needles->text[i][0] == buf[0] && memcmp(buf, needles->text[i], (size_t)needles->length[i]) == 0)
            return 1;
    return 0;
}

static int ends_with_any(const char *buf, Py_ssize_t n, const Needles *needles) {
    for (Py_ssize_t i = 0; i < needles->count; i++) {
        Py_ssize_t len = needles->length[i];
        if (len <= n && needles->text[i][len - 1] == buf[n - 1] && memcmp(buf + n - len, needles->text[i], (size_t)len) == 0) return 1;
    }
    return 0;
}

static int in_set(PyObject *set, const char *word, Py_ssize_t len) {
    PyObject *key = PyUnicode_FromStringAndSize(word, len);
    if (!key) return -1;
    int found = PySet_Contains(set, key);
    Py_DECREF(key);
    return found;
}

/* is_boilerplate's word loop on lowered ASCII: words are [a-z]+(?:[-'][a-z]+)*; the caption
 * has content as soon as one word is not generic, or with more than six generic words.
 * 1 = proven content, 0 = no proof, -1 error. */
static int has_content_word(Scanner *self, const char *lower, Py_ssize_t n) {
    Py_ssize_t i = 0, words = 0;
    while (i < n) {
        if (!is_lower(lower[i])) { i++; continue; }
        Py_ssize_t start = i;
        while (i < n && is_lower(lower[i])) i++;
        while (i + 1 < n && (lower[i] == '-' || lower[i] == '\'') && is_lower(lower[i + 1])) {
            i++;
            while (i < n && is_lower(lower[i])) i++;
        }
        int generic = in_set(self->boilerplate_words, lower + start, i - start);
        if (generic < 0) return -1;
        if (!generic) return 1;
        words++;
    }
    return words > 6; /* only generic words, but more than a UI label has */
}

/* camera._scan_tokens(text, stop_at=1) up to its first content word. Tokens are runs of
 * anything but whitespace and ,;|:()[]{}@= (ASCII; Python's \s includes \x1c-\x1f), stripped of
 * . ' " ! ? - / + * # at both ends. A gear word is skipped; a token with a digit is an exposure value,
 * a model code or a number, never content; an all-letter token is a model code when it is a
 * short capital acronym ('XR') and content otherwise; any other token is content when it has a
 * letter ('e-mail'). 1 = a content word, so is_camera_metadata is False; 0 = none; -1 = error. */
static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); }
static int is_token_break(char c) {
    switch (c) {
    case ',': case ';': case '|': case ':': case '(': case ')': case '[': case ']': case '{': case '}': case '@': case '=':
        return 1;
    default:
        return is_space(c);
    }
}
static int is_token_edge(char c) {
    switch (c) {
    case '.': case '\'': case '"': case '!': case '?': case '-': case '/': case '+': case '*': case '#':
        return 1;
    default:
        return 0;
    }
}

/* 1 when the token at `start` begins with a camera word ending right before its first `separator`
 * (the token holds one), 0 when not, -1 on error. */
static int camera_word_before(Scanner *self, const char *text, const char *lower, Py_ssize_t start, char separator) {
    Py_ssize_t at = start;
    while (text[at] != separator) at++;
    return at > start ? in_set(self->camera_words, lower + start, at - start) : 0;
}

/* 1 when the token, its hyphens left out, is a camera word ('Insta-360', 'e-f':
 * camera._is_hyphenated_maker), 0 when not (or too long to be one), -1 on error. */
static int camera_word_without_hyphens(Scanner *self, const char *lower, Py_ssize_t start, Py_ssize_t end) {
    char joined[32];
    Py_ssize_t kept = 0;
    if (end - start > (Py_ssize_t)sizeof joined) return 0;
    for (Py_ssize_t j = start; j < end; j++)
        if (lower[j] != '-') joined[kept++] = lower[j];
    return in_set(self->camera_words, joined, kept);
}

/* 1 when the token holds a '.' and the letters after its last '.' (up to a '-', if any) are a
 * camera word ('M.Zuiko'-like lens lines: camera._is_dotted_line), 0 when not, -1 on error. */
static int camera_word_after_dot(Scanner *self, const char *text, const char *lower, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t dot = end;
    while (dot > start && text[dot - 1] != '.') dot--;
    if (dot == start) return 0;
    Py_ssize_t stop = dot;
    while (stop < end && text[stop] != '-') stop++;
    return stop > dot ? in_set(self->camera_words, lower + dot, stop - dot) : 0;
}

/* Whether the token after position `i` (its edges stripped, as camera._TOKEN_EDGE does) is `word`
 * in any case. */
static int next_token_is(const char *text, const char *lower, Py_ssize_t i, Py_ssize_t n, const char *word, Py_ssize_t length) {
    while (i < n && is_token_break(text[i])) i++;
    Py_ssize_t start = i;
    while (i < n && !is_token_break(text[i])) i++;
    Py_ssize_t end = i;
    while (start < end && is_token_edge(text[start])) start++;
    while (end > start && is_token_edge(text[end - 1])) end--;
    return end - start == length && memcmp(lower + start, word, (size_t)length) == 0;
}

static int camera_content_first(Scanner *self, const char *text, const char *lower, Py_ssize_t n) {
    Py_ssize_t i = 0;
    /* camera.after_gear_line_word: a capitalised word right after a camera maker or line or a
     * short code (line_anchors), after another such word, or, once an anchor has been seen, after
     * a model code, an acronym or an exposure value (any token with a digit that is not a bare
     * number), may be a line word, not content; any such word is passed over here (the rule
     * decides). A superset of the rule's test, so a proof holds. */
    int after_gear = 0, anchored = 0;
    /* whether the previous token was a camera maker or line ('<maker> 435 <Edition>': a line word
     * may follow a bare number after it) */
    int previous_anchor = 0;
    /* a tag list joined by commas without spaces, or one with no capital after its first ':' (or
     * none at all, camera._is_lower_case_tag_list: a superset): its tags are read as hashtags
     * (camera._scan_tokens) */
    int tag_list = memchr(text, ',', (size_t)n) != NULL && memchr(text, ' ', (size_t)n) == NULL;
    if (!tag_list) {
        const char *colon = memchr(text, ':', (size_t)n);
        Py_ssize_t from = colon ? colon - text + 1 : 0;
        tag_list = 1;
        for (Py_ssize_t j = from; j < n && tag_list; j++)
            if (is_upper(text[j])) tag_list = 0;
    }
    while (i < n) {
        if (is_token_break(text[i])) { i++; continue; }
        Py_ssize_t start = i;
        while (i < n && !is_token_break(text[i])) i++;
        Py_ssize_t end = i;
        int hashtag = text[start] == '#' || tag_list;
        while (start < end && is_token_edge(text[start])) start++;
        while (end > start && is_token_edge(text[end - 1])) end--;
        if (start == end) continue;
        int gear = in_set(self->camera_words, lower + start, end - start);
        if (gear < 0) return -1;
        int previous = after_gear;
        after_gear = 0;
        int anchor_before = previous_anchor;
        previous_anchor = 0;
        if (gear) {
            after_gear = in_set(self->line_anchors, lower + start, end - start);
            if (after_gear < 0) return -1;
            anchored |= after_gear;
            /* words passed over here that the rule reads as words ('Did' of an EXIF phrase) may
             * be line words to it, capitalised after gear: another may follow; a gear word right
             * after a maker keeps the maker's anchor open, whatever its case, as a company word
             * there does to the rule ('<maker> photo': camera._in_company_name) */
            int keeps_anchor = previous && anchor_before;
            if (previous && (is_upper(text[start]) || keeps_anchor)) after_gear = 1;
            previous_anchor = after_gear && (keeps_anchor || in_set(self->line_anchors, lower + start, end - start) > 0);
            continue;
        }
        int letters = 0, digits = 0, upper = 0, hyphens = 0, slashes = 0, underscores = 0;
        for (Py_ssize_t j = start; j < end; j++) {
            letters += is_alpha(text[j]);
            digits += is_digit(text[j]);
            upper += is_upper(text[j]);
            hyphens += text[j] == '-';
            slashes += text[j] == '/';
            underscores += text[j] == '_';
        }
        Py_ssize_t len = end - start;
        if (digits) {
            /* a code or an exposure value; a bare number only right after gear (a body's number after
             * its maker: '<maker> 435 <Edition>') */
            after_gear = anchored && (digits < len || anchor_before);
            if (hyphens) { /* maybe a maker written with a hyphen ('Insta-360'), an anchor */
                int maker = camera_word_without_hyphens(self, lower, start, end);
                if (maker < 0) return -1;
                if (maker) after_gear = anchored = previous_anchor = 1;
            }
            continue;
        }
        if (!letters) continue;
        /* maybe a maker's default EXIF description with '_' for spaces, begun by a maker or a
         * gear word (catalogue.is_exif_default_description), or a maker's community tag
         * ('#<maker>_world': camera._gear_tag) or name joined by '_': a line word may follow */
        if (memchr(text + start, '_', (size_t)len) != NULL) {
            int described = camera_word_before(self, text, lower, start, '_');
            if (described < 0) return -1;
            if (described) {
                after_gear = anchored = previous_anchor = 1;
                continue;
            }
        }
        /* maybe a lens's edition word in brackets after its spec (camera._is_lens_name_with_series_word) */
        if (previous && start > 0 && text[start - 1] == '(' && end < n && text[end] == ')') {
            after_gear = 1;
            continue;
        }
        after_gear = anchored;
        if (letters == len && upper == len && len <= 3) continue; /* a model code, not content */
        if (len == 1) continue; /* one letter after a maker or a phone line ('moto g') is a code */
        if (letters == len && upper == len - 1 && len <= 4 && !is_upper(text[end - 1])) continue; /* maybe 'IIIf' */
        if (upper == letters && letters + hyphens + slashes == len && len <= 7) { /* maybe 'SQ-A', 'L/Z' */
            if (hyphens) { /* maybe a line, a hyphen and a code ('EF-E': camera.is_camera_model_name), an anchor */
                int line = camera_word_before(self, text, lower, start, '-');
                if (line < 0) return -1;
                if (line) after_gear = anchored = previous_anchor = 1;
            }
            continue;
        }
        if (previous && (is_upper(text[start]) || len <= 3 || (hyphens == 1 && letters + 1 == len && len <= 5))) {
            /* maybe a line word, a short code ('mju') or a lower-case series and letter ('abc-d') */
            after_gear = 1;
            continue;
        }
        if (len >= 6 && len <= 9 && memcmp(lower + end - 5, "mount", 5) == 0) continue; /* maybe a lens mount ('E-mount') */
        if (hashtag && underscores) { /* maybe a maker's community tag ('#<maker>_world': camera._gear_tag) */
            after_gear = anchored = 1;
            continue;
        }
        if (hashtag && letters == len) { /* maybe a maker glued to gear ('#nikonlens': camera._glued_hashtag) */
            int glued = 0;
            for (Py_ssize_t cut = len - 1; cut >= 3 && !glued; cut--) {
                glued = in_set(self->camera_words, lower + start, cut);
                if (glued < 0) return -1;
            }
            /* maybe gear after a community word or other gear ('#team<maker>', 'kitlens', 'xseries':
             * camera._gear_tag) */
            for (Py_ssize_t cut = 1; cut + 3 <= len && !glued; cut++) {
                glued = in_set(self->camera_words, lower + start + cut, len - cut);
                if (glued < 0) return -1;
            }
            if (!glued && len >= 5) { /* maybe a series letter before a maker ('#xnikkor') */
                glued = in_set(self->camera_words, lower + start + 1, len - 1);
                if (glued < 0) return -1;
            }
            if (glued) { /* a maker, so a line word may follow */
                after_gear = anchored = previous_anchor = 1;
                continue;
            }
        }
        /* maybe makers joined by '/' ('Minolta/Sony': camera._is_makers_pair), or a maker, a
         * hyphen and a code ('Zenit-E': camera.is_camera_model_name) */
        int maker = slashes ? camera_word_before(self, text, lower, start, '/') : 0;
        if (maker == 0 && hyphens) maker = camera_word_before(self, text, lower, start, '-');
        if (maker == 0 && hyphens) maker = camera_word_without_hyphens(self, lower, start, end);
        if (maker == 0 && memchr(text + start, '.', (size_t)len) != NULL) maker = camera_word_after_dot(self, text, lower, start, end);
        if (maker < 0) return -1;
        if (maker) {
            after_gear = anchored = previous_anchor = 1;
            continue;
        }
        if (slashes) { /* maybe gear words joined by '/' ('asph./power': camera._is_joined_gear) */
            const char *slash = memchr(text + start, '/', (size_t)len);
            Py_ssize_t stop = slash - text;
            while (stop > start && text[stop - 1] == '.') stop--;
            int joined = stop > start ? in_set(self->camera_words, lower + start, stop - start) : 0;
            if (joined < 0) return -1;
            if (joined) continue;
        }
        if (letters * 2 - 1 == len) { /* maybe a gear acronym written with dots ('o.i.s': camera._is_joined_gear) */
            int dotted = 1;
            for (Py_ssize_t j = start + 1; j < end; j += 2) dotted &= text[j] == '.';
            if (dotted) continue;
        }
        /* maybe an edition's name before 'Edition' ('<phone> <Word> Edition': camera._scan_tokens) */
        if (is_upper(text[start]) && next_token_is(text, lower, i, n, "edition", 7)) continue;
        return 1;
    }
    return 0;
}

static Py_ssize_t skip_spaces(const char *s, Py_ssize_t i, Py_ssize_t n) {
    while (i < n && is_space(s[i])) i++;
    return i;
}

/* _PHOTO_N_OF_M: a sequence word, digits, 'of' or '/', a digit ('Photo 3 of 12'). */
static int sequence_number_at_start(Scanner *self, const char *lower, Py_ssize_t n) {
    const Needles *words = &self->needles[SEQUENCE_WORDS];
    for (Py_ssize_t w = 0; w < words->count; w++) {
        Py_ssize_t i = words->length[w];
        if (i > n || memcmp(lower, words->text[w], (size_t)i) != 0) continue;
        i = skip_spaces(lower, i, n);
        if (i >= n || !is_digit(lower[i])) continue;
        while (i < n && is_digit(lower[i])) i++;
        i = skip_spaces(lower, i, n);
        if (i + 1 < n && lower[i] == 'o' && lower[i + 1] == 'f') i += 2;
        else if (i < n && lower[i] == '/') i += 1;
        else continue;
        i = skip_spaces(lower, i, n);
        if (i < n && is_digit(lower[i])) return 1;
    }
    return 0;
}

/* _AUTO_PREFIX's counters: a prefix from the list, then a digit, maybe after one space, '_' or
 * '-'. The prefix is the caption's leading run of letters and underscores (the separator '_'
 * may end that run). */
static int counter_at_start(Scanner *self, const char *lower, Py_ssize_t n) {
    Py_ssize_t r = 0;
    while (r < n && (is_lower(lower[r]) || lower[r] == '_')) r++;
    if (r == 0 || r >= n) return 0;
    if (is_digit(lower[r])) {
        int found = in_set(self->counter_prefixes, lower, r);
        if (found != 0 || lower[r - 1] != '_' || r == 1) return found;
        return in_set(self->counter_prefixes, lower, r - 1);
    }
    if ((is_space(lower[r]) || lower[r] == '-') && r + 1 < n && is_digit(lower[r + 1])) return in_set(self->counter_prefixes, lower, r);
    return 0;
}

/* Could looks_like_file_name(text) be True? Each of its patterns has a necessary condition that
 * is cheap to test on ASCII; 0 only when none holds. `lower` is the lowercased text. */
static int may_look_like_file_name(Scanner *self, const char *text, const char *lower, Py_ssize_t n, int digit, int dot,
                                   int underscore) {
    if (!digit && !dot && !underscore) return starts_with_any(lower, n, &self->needles[TOOL_WORD_STARTS]);
    /* tool words ('Untitled design'), tools with a number ('WhatsApp Image 2020-...'; a digit is
     * there), 'photo 3 of 12' */
    if (starts_with_any(lower, n, &self->needles[TOOL_WORD_STARTS]) || starts_with_any(lower, n, &self->needles[TOOL_NAME_STARTS]) ||
        sequence_number_at_start(self, lower, n))
        return 1;
    Py_ssize_t first = 0, last = n;
    while (first < n && is_space(text[first])) first++;
    while (last > first && is_space(text[last - 1])) last--;
    /* _EXTENSION: '.jpg' at the end, or a bracket after it */
    if (dot && last > first && (text[last - 1] == ')' || ends_with_any(lower + first, last - first, &self->needles[EXTENSION_ENDS])))
        return 1;
    /* _UUID_OR_HEX_RUN: twelve hex digits in a row */
    Py_ssize_t run = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = lower[i];
        run = (is_digit(c) || (c >= 'a' && c <= 'f')) ? run + 1 : 0;
        if (run >= 12) return 1;
    }
    int counter = counter_at_start(self, lower, n);
    if (counter != 0) return counter; /* 1, or -1 on error */
    /* _NUMERIC_SUFFIX: '.' and two to four digits at the end ('$' also matches before a final
     * newline) */
    Py_ssize_t end = (n > 0 && text[n - 1] == '\n') ? n - 1 : n, digits = 0;
    while (digits < end && is_digit(text[end - 1 - digits])) digits++;
    if (digits >= 2 && digits <= 4 && digits < end && text[end - 1 - digits] == '.') return 1;
    /* a single token with a digit or an underscore */
    if (digit || underscore) {
        int inner_space = 0;
        for (Py_ssize_t i = first; i < last; i++)
            if (text[i] == ' ') inner_space = 1;
        if (!inner_space) return 1;
    }
    return 0;
}

/* camera._SUFFIX_SEPARATOR on ASCII: ', ' or a '-', '|' or '@' with whitespace on both sides. */
static int has_suffix_separator(const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        char c = s[i];
        if (c == ',' && is_space(s[i + 1])) return 1;
        if ((c == '-' || c == '|' || c == '@') && i > 0 && is_space(s[i - 1]) && is_space(s[i + 1])) return 1;
    }
    return 0;
}

/* Could camera._EXPOSURE_ANYWHERE match? Its alternatives with a digit need '/' before a digit
 * ('1/250', 'f/2.8'), 'iso' or an f and a digit at the start of a word ('F4'), or 'mm' after a
 * digit, maybe after one whitespace ('50mm', '18-55 mm'); the others are words ('aperture'). */
static int may_hold_exposure_value(Scanner *self, const char *lower, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = lower[i];
        if (c == '/' && i + 1 < n && is_digit(lower[i + 1])) return 1;
        if (c == 'i' && i + 2 < n && lower[i + 1] == 's' && lower[i + 2] == 'o' &&
            (i == 0 || !(is_lower(lower[i - 1]) || is_digit(lower[i - 1]) || lower[i - 1] == '_')))
            return 1;
        /* 'F2.8', 'f4': an f and a digit at the start of a word */
        if (c == 'f' && i + 1 < n && is_digit(lower[i + 1]) && (i == 0 || !(is_lower(lower[i - 1]) || is_digit(lower[i - 1]) || lower[i - 1] == '_')))
            return 1;
        if (c == 'm' && i + 1 < n && lower[i + 1] == 'm' && i > 0 &&
            (is_digit(lower[i - 1]) || (i > 1 && is_space(lower[i - 1]) && is_digit(lower[i - 2]))))
            return 1;
    }
    return contains_any(lower, n, &self->needles[EXPOSURE_WORDS]);
}

/* boilerplate._RESULT_PREFIX: 'image', 'picture' or 'photo', whitespace, then 'result' ... */
static int result_prefix_at_start(Scanner *self, const char *lower, Py_ssize_t n) {
    const Needles *words = &self->needles[RESULT_PREFIXES];
    for (Py_ssize_t w = 0; w < words->count; w++) {
        Py_ssize_t i = words->length[w];
        if (i >= n || memcmp(lower, words->text[w], (size_t)i) != 0 || !is_space(lower[i])) continue;
        i = skip_spaces(lower, i, n);
        if (i + 6 <= n && memcmp(lower + i, "result", 6) == 0) return 1;
    }
    return 0;
}

static PyObject *Scanner_text_mask(Scanner *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t max_chars;
    if (!PyArg_ParseTuple(args, "Un", &text, &max_chars)) return NULL;
    if (!PyUnicode_IS_ASCII(text)) return PyLong_FromLong(0);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > MAX_SCAN) return PyLong_FromLong(0);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    char lower[MAX_SCAN + 1];
    int printable = 1, amp_or_tag = 0, spacing_ok = 1, any_alpha = 0, digit = 0, dot = 0, underscore = 0;
    int space = 0, colon = 0, key_separators = 0, plus = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        lower[i] = to_lower(c);
        if (c < ' ' || c == '\x7f') printable = 0;
        else if (c == ' ') {
            space = 1;
            if (i == 0 || i == n - 1 || s[i - 1] == ' ') spacing_ok = 0;
        }
        else if (c == '&' || c == '<') amp_or_tag = 1;
        else if (is_alpha(c)) any_alpha = 1;
        else if (is_digit(c)) digit = 1;
        else if (c == '.') dot = 1;
        else if (c == '_') underscore = 1;
        else if (c == ':') colon = 1;
        if (c == ':' || c == '=') key_separators++;
        if (c == '+') plus = 1;
    }
    lower[n] = '\0';
    long mask = 0;
    /* a '+' in text without spaces may be a form-encoded field, which normalisation decodes */
    if (printable && !amp_or_tag && spacing_ok && !(plus && !space) && (max_chars <= 0 || n <= max_chars)) mask |= NORMALISED;

    /* strip_camera_suffix only splits a separated caption that has a gear hint or could hold an
     * exposure value. */
    if (!has_suffix_separator(s, n) || !(contains_any(lower, n, &self->needles[GEAR_HINTS]) || may_hold_exposure_value(self, lower, n)))
        mask |= SUFFIX_KEPT;

    /* is_file_name: no forum words and no file-name shape. */
    if (!contains_any(lower, n, &self->needles[FORUM_WORDS])) {
        int shaped = may_look_like_file_name(self, s, lower, n, digit, dot, underscore);
        if (shaped < 0) return NULL;
        if (!shaped) mask |= NOT_FILENAME;
    }

    /* is_boilerplate: letters, not a bare URL or domain (both need a dot or a colon when there
     * is no space), no 'image result for' start, and a content word. */
    if (any_alpha && (space || (!dot && !colon)) && !result_prefix_at_start(self, lower, n)) {
        int content = has_content_word(self, lower, n);
        if (content < 0) return NULL;
        if (content) mask |= NOT_BOILERPLATE;
    }

    /* is_camera_metadata: no 'Key: value' EXIF dump (it needs two ':' or '=') and a content word. */
    if (key_separators < 2) {
        int content = camera_content_first(self, s, lower, n);
        if (content < 0) return NULL;
        if (content) mask |= NOT_CAMERA;
    }
    return PyLong_FromLong(mask);
}

/* url_problem's simple path (filters/urls.py _split_simple_url) for printable ASCII without
 * spaces: scheme http(s), '//', a host without brackets, and a path whose extension is not a
 * non-photo asset. Anything else returns False and goes to url_problem. */
static PyObject *Scanner_url_is_plain(Scanner *self, PyObject *args) {
    PyObject *url;
    Py_ssize_t max_chars;
    if (!PyArg_ParseTuple(args, "On", &url, &max_chars)) return NULL;
    if (!PyUnicode_Check(url) || !PyUnicode_IS_ASCII(url)) Py_RETURN_FALSE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(url);
    if (n == 0 || n > MAX_SCAN || (max_chars > 0 && n > max_chars)) Py_RETURN_FALSE;
    const char *s = (const char *)PyUnicode_1BYTE_DATA(url);
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == '\x7f') Py_RETURN_FALSE;
    Py_ssize_t rest;
    if (n > 7 && strncasecmp(s, "http://", 7) == 0) rest = 7;
    else if (n > 8 && strncasecmp(s, "https://", 8) == 0) rest = 8;
    else Py_RETURN_FALSE;
    Py_ssize_t end = rest;
    while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#') end++;
    Py_ssize_t host_start = rest, host_end = end;
    for (Py_ssize_t i = rest; i < end; i++) {
        if (s[i] == '[' || s[i] == ']') Py_RETURN_FALSE;
        if (s[i] == '@') host_start = i + 1;
    }
    for (Py_ssize_t i = host_start; i < end; i++)
        if (s[i] == ':') { host_end = i; break; }
    if (host_end <= host_start) Py_RETURN_FALSE; /* no host: url_problem says so */
    Py_ssize_t path_end = end;
    while (path_end < n && s[path_end] != '?' && s[path_end] != '#') path_end++;
    Py_ssize_t dot = -1, slash = -1;
    for (Py_ssize_t i = end; i < path_end; i++) {
        if (s[i] == '.') dot = i;
        else if (s[i] == '/') slash = i;
    }
    if (dot > slash && dot >= 0) {
        char extension[MAX_SCAN + 1];
        Py_ssize_t len = path_end - dot;
        for (Py_ssize_t i = 0; i < len; i++) extension[i] = to_lower(s[dot + i]);
        int asset = in_set(self->non_photo_extensions, extension, len);
        if (asset < 0) return NULL;
        if (asset) Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"boilerplate_words", "camera_words", "non_photo_extensions", "counter_prefixes", "gear_hints",
                            "exposure_words", "tool_word_starts", "tool_name_starts", "sequence_words", "forum_words",
                            "result_prefixes", "extension_ends", "line_anchors", NULL};
    PyObject *sets[5], *tuples[N_NEEDLES];
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!O!O!O!O!O!O!O!O!", names, &PyFrozenSet_Type, &sets[0], &PyFrozenSet_Type,
                                     &sets[1], &PyFrozenSet_Type, &sets[2], &PyFrozenSet_Type, &sets[3], &PyTuple_Type, &tuples[0],
                                     &PyTuple_Type, &tuples[1], &PyTuple_Type, &tuples[2], &PyTuple_Type, &tuples[3], &PyTuple_Type,
                                     &tuples[4], &PyTuple_Type, &tuples[5], &PyTuple_Type, &tuples[6], &PyTuple_Type, &tuples[7],
                                     &PyFrozenSet_Type, &sets[4]))
        return -1;
    if (self->tuples[0] != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is already initialised");
        return -1;
    }
    for (int k = 0; k < N_NEEDLES; k++) {
        Py_ssize_t count = PyTuple_GET_SIZE(tuples[k]);
        Needles *needles = &self->needles[k];
        needles->text = PyMem_Calloc((size_t)count + 1, sizeof(char *));
        needles->length = PyMem_Calloc((size_t)count + 1, sizeof(Py_ssize_t));
        if (!needles->text || !needles->length) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t j = 0; j < count; j++) {
            PyObject *item = PyTuple_GET_ITEM(tuples[k], j);
            if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item) || PyUnicode_GET_LENGTH(item) == 0) {
                PyErr_Format(PyExc_TypeError, "%s must hold non-empty ASCII str", NEEDLE_NAMES[k]);
                return -1;
            }
            needles->text[j] = (const char *)PyUnicode_1BYTE_DATA(item);
            needles->length[j] = PyUnicode_GET_LENGTH(item);
            needles->starts[(unsigned char)needles->text[j][0]] = 1;
            needles->count = j + 1;
        }
        Py_INCREF(tuples[k]);
        self->tuples[k] = tuples[k];
    }
    PyObject **slots[] = {&self->boilerplate_words, &self->camera_words, &self->non_photo_extensions, &self->counter_prefixes,
                          &self->line_anchors};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(sets[i]);
        Py_XSETREF(*slots[i], sets[i]);
    }
    return 0;
}

static int Scanner_traverse(Scanner *self, visitproc visit, void *arg) {
    Py_VISIT(self->boilerplate_words);
    Py_VISIT(self->camera_words);
    Py_VISIT(self->non_photo_extensions);
    Py_VISIT(self->counter_prefixes);
    Py_VISIT(self->line_anchors);
    for (int k = 0; k < N_NEEDLES; k++) Py_VISIT(self->tuples[k]);
    return 0;
}

static int Scanner_clear(Scanner *self) {
    Py_CLEAR(self->boilerplate_words);
    Py_CLEAR(self->camera_words);
    Py_CLEAR(self->non_photo_extensions);
    Py_CLEAR(self->counter_prefixes);
    Py_CLEAR(self->line_anchors);
    for (int k = 0; k < N_NEEDLES; k++) {
        /* the C strings point into the tuples: forget them first */
        self->needles[k].count = 0;
        Py_CLEAR(self->tuples[k]);
    }
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    PyObject_GC_UnTrack(self);
    Scanner_clear(self);
    for (int k = 0; k < N_NEEDLES; k++) {
        PyMem_Free(self->needles[k].text);
        PyMem_Free(self->needles[k].length);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Scanner_methods[] = {
    {"text_mask", (PyCFunction)Scanner_text_mask, METH_VARARGS, "text_mask(text, max_chars) -> int of proven-keep bits"},
    {"url_is_plain", (PyCFunction)Scanner_url_is_plain, METH_VARARGS,
     "url_is_plain(url, max_chars) -> True when url_problem(url) is None without deny list or size hints"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "filters._rulescan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Proves, in one pass over an ASCII caption, which caption rules cannot fire.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef rulescan_module = {PyModuleDef_HEAD_INIT, "_rulescan", "Proven-keep pre-checks for the caption rules.", -1, NULL};

PyMODINIT_FUNC PyInit__rulescan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&rulescan_module);
    if (!module) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "NORMALISED", NORMALISED) < 0 || PyModule_AddIntConstant(module, "SUFFIX_KEPT", SUFFIX_KEPT) < 0 ||
        PyModule_AddIntConstant(module, "NOT_FILENAME", NOT_FILENAME) < 0 ||
        PyModule_AddIntConstant(module, "NOT_BOILERPLATE", NOT_BOILERPLATE) < 0 ||
        PyModule_AddIntConstant(module, "NOT_CAMERA", NOT_CAMERA) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
