//! Chat-like text, generated: no downloads, the same every run.
//!
//! Words follow a Zipf law over a vocabulary of common English and chat
//! words with a long tail of made-up ones, so a few words are everywhere
//! and most are rare, as in real chat. Lengths vary from "ok" to a
//! paragraph; some messages carry links, mentions, code, emoji or Chinese.

/// Common words first: their rank sets their frequency.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    "the", "to", "i", "a", "you", "it", "and", "is", "in", "we", "that", "for", "on", "of",
    "this", "ok", "be", "can", "do", "have", "just", "so", "are", "it's", "with", "not", "but",
    "what", "will", "me", "at", "if", "my", "was", "there", "yes", "no", "get", "know", "think",
    "now", "up", "all", "they", "out", "one", "about", "like", "thanks", "going", "time",
    "need", "go", "when", "see", "lol", "how", "let", "should", "today", "could", "good",
    "work", "still", "right", "also", "then", "make", "back", "tomorrow", "sure", "meeting",
    "yeah", "would", "maybe", "any", "from", "did", "new", "who", "some", "here", "more",
    "anyone", "please", "after", "really", "where", "again", "fix", "looks", "done", "before",
    "try", "which", "people", "test", "code", "room", "nice", "build", "lunch", "wifi",
    "password", "deploy", "server", "bug", "review", "merge", "branch", "pull", "request",
    "release", "notes", "slides", "agenda", "coffee", "printer", "laptop", "network", "error",
    "issue", "docs", "link", "file", "update", "check", "working", "broken", "later", "morning",
    "afternoon", "week", "friday", "monday", "schedule", "project", "team", "demo", "question",
    "answer", "idea", "plan", "design", "login", "account", "access", "install", "version",
    "config", "database", "backup", "restart", "crash", "log", "logs", "screen", "share",
    "call", "standup", "sprint", "ticket", "deadline", "draft", "final", "send", "sent",
    "email", "phone", "charger", "cable", "projector", "kitchen", "pizza", "order", "team's",
    "weekend", "holiday", "party", "music", "game", "score", "match", "train", "bus", "late",
    "early", "soon", "great", "awesome", "sorry", "happy", "tired", "busy", "free", "open",
    "closed", "door", "key", "parking", "car", "bike", "rain", "weather", "cold", "hot",
    "window", "light", "desk", "chair", "board", "marker", "paper", "print", "scan", "copy",
    "paste", "click", "button", "page", "browser", "chrome", "firefox", "phone's", "app", "api",
    "endpoint", "query", "index", "cache", "memory", "cpu", "disk", "space", "upload",
    "download", "folder", "image", "photo", "video", "audio", "mic", "camera", "headphones",
];

#[rustfmt::skip]
const CHINESE: &[&str] = &[
    "会议", "明天", "密码", "网络", "项目", "文件", "谢谢", "问题", "时间", "今天", "服务器", "午饭", "打印机", "周五", "发布",
    "测试",
];

const EMOJI: &[&str] = &["🎉", "👍", "😂", "🙏", "🔥", "✅", "☕", "🍕"];

const HOSTS: &[&str] = &[
    "docs.example.org",
    "git.example.lan",
    "wiki.example.lan",
    "example.com",
    "tickets.example.lan",
];

/// How many made-up words follow the common ones.
const TAIL: usize = 20_000;
/// The Zipf exponent: about that of English.
const ZIPF: f64 = 1.05;

/// A message to send: its sender (writer `i` writes room `r<i>`) and its
/// text.
pub struct Message {
    pub sender: usize,
    pub text: String,
}

/// splitmix64: small, fast, and the same everywhere.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The vocabulary and the cumulative Zipf weights to draw from it.
pub struct Corpus {
    words: Vec<String>,
    cumulative: Vec<f64>,
    random: Random,
}

impl Corpus {
    pub fn new(seed: u64) -> Corpus {
        let mut random = Random::new(seed);
        let mut words: Vec<String> = COMMON.iter().map(|w| w.to_string()).collect();
        const SYLLABLES: &[&str] = &[
            "ka", "lo", "mi", "ra", "ten", "vo", "zan", "zi", "bar", "qu", "el", "sto", "pre",
            "dor", "fin", "gu", "ha", "ix", "jo", "ne", "ov", "pa", "sul", "tri", "ur", "wen",
        ];
        while words.len() < COMMON.len() + TAIL {
            let count = 2 + random.below(3);
            let word: String = (0..count)
                .map(|_| SYLLABLES[random.below(SYLLABLES.len())])
                .collect();
            words.push(word);
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(ZIPF);
                total
            })
            .collect();
        Corpus {
            words,
            cumulative,
            random,
        }
    }

    fn word(&mut self) -> &str {
        let total = *self.cumulative.last().expect("a vocabulary");
        let at = self.random.unit() * total;
        let index = self.cumulative.partition_point(|&c| c < at);
        &self.words[index.min(self.words.len() - 1)]
    }

    /// One message's text, `people` being the names one may mention.
    pub fn text(&mut self, people: &[String]) -> String {
        if self.random.chance(3) {
            let count = 1 + self.random.below(6);
            return (0..count)
                .map(|_| CHINESE[self.random.below(CHINESE.len())])
                .collect();
        }
        let length = match self.random.below(100) {
            0..70 => 1 + self.random.below(12),
            70..95 => 12 + self.random.below(20),
            _ => 30 + self.random.below(60),
        };
        let mut words: Vec<String> = (0..length).map(|_| self.word().to_owned()).collect();
        if self.random.chance(5) {
            let host = HOSTS[self.random.below(HOSTS.len())];
            let path = self.word().to_owned();
            words.push(format!("https://{host}/{path}"));
        }
        if self.random.chance(3) {
            let who = &people[self.random.below(people.len())];
            words.insert(self.random.below(words.len() + 1), format!("@{who}"));
        }
        if self.random.chance(2) {
            let code = self.word().to_owned();
            words.push(format!("`{code}()`"));
        }
        if self.random.chance(4) {
            words.push(EMOJI[self.random.below(EMOJI.len())].to_owned());
        }
        let mut text = words.join(" ");
        if let Some(first) = text.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        match self.random.below(10) {
            0..5 => {}
            5..8 => text.push('.'),
            8 => text.push('?'),
            _ => text.push('!'),
        }
        text
    }

    /// `count` messages over `rooms` rooms, each room's by its own writer.
    pub fn messages(&mut self, count: usize, rooms: usize, people: &[String]) -> Vec<Message> {
        (0..count)
            .map(|_| {
                let sender = self.random.below(rooms);
                Message {
                    sender,
                    text: self.text(people),
                }
            })
            .collect()
    }
}
