"""What the demo's complaint texts are made of (``complaints.demo_texts`` puts them together):
per type and language, the phrasings customers use, with {slots}; the slot values; the
phrasings two related types share; the second grievances; and the words that rough a text
up (openers, closers, the other language's words, chat spellings). Data only."""

from __future__ import annotations

# Slot values by language; a template's {slot} takes one at random.
SLOTS: dict[str, dict[str, list[str]]] = {
    "id": {
        "wait": ["30 menit", "45 menit", "hampir 1 jam", "1 jam lebih", "2 jam",
                 "satu setengah jam", "lebih dari sejam", "dari jam 9 pagi", "40 menitan"],
        "place": ["Sudirman", "Thamrin", "Kelapa Gading", "Margonda", "Dago", "Tunjungan",
                  "pusat", "dekat rumah saya", "Bekasi Barat", "Pasar Minggu"],
        "staff": ["teller", "petugas", "CS", "customer service", "kasir", "satpam",
                  "mbak di loket", "bapak di meja depan", "petugasnya", "pegawai"],
        "when": ["tadi pagi", "kemarin", "hari Senin", "minggu lalu", "tadi siang", "barusan",
                 "2 hari lalu", "Jumat kemarin"],
        "amount": ["Rp 50.000", "100 ribu", "Rp 200.000", "50rb", "Rp 20.000", "500 ribu",
                   "Rp 25.000", "100rb"],
        "big": ["Rp 1.500.000", "2 juta", "Rp 5.000.000", "10 jt", "Rp 750.000", "3 juta"],
        "fee": ["biaya admin", "biaya administrasi", "potongan", "biaya materai",
                "biaya transfer", "biaya bulanan", "biaya kartu", "biaya penutupan rekening"],
        "days": ["3 hari", "seminggu", "5 hari kerja", "lebih dari seminggu", "2 minggu",
                 "4 hari"],
        "times": ["3", "lima", "10", "berkali-kali", "belasan", "7"],
        "phone": ["call center", "nomor telepon cabang", "hotline", "telepon kantor cabang",
                  "nomor yang ada di website", "Halo Bank"],
        "msg": ["email", "chat di aplikasi", "WhatsApp", "DM Instagram", "live chat",
                "form di website"],
        "app": ["aplikasi", "mobile banking", "m-banking", "aplikasi mobile",
                "internet banking", "aplikasinya"],
    },
    "en": {
        "wait": ["30 minutes", "45 minutes", "almost an hour", "over an hour", "2 hours",
                 "an hour and a half", "more than 40 mins", "since 9 am"],
        "place": ["Sudirman", "Thamrin", "Kelapa Gading", "Margonda", "Dago", "Tunjungan",
                  "the main", "my local", "Bekasi Barat"],
        "staff": ["teller", "cashier", "customer service officer", "security guard",
                  "lady at the counter", "man at the front desk", "staff member", "clerk"],
        "when": ["this morning", "yesterday", "on Monday", "last week", "this afternoon",
                 "two days ago", "last Friday"],
        "amount": ["Rp 50,000", "100k", "Rp 200,000", "IDR 20,000", "500k", "Rp 25,000"],
        "big": ["Rp 1,500,000", "2 million rupiah", "Rp 5,000,000", "IDR 10 million",
                "Rp 750,000"],
        "fee": ["admin fee", "administration fee", "stamp duty", "transfer fee",
                "monthly fee", "card fee", "account closing fee"],
        "days": ["3 days", "a week", "5 working days", "more than a week", "2 weeks",
                 "4 days"],
        "times": ["3", "five", "10", "many", "a dozen", "7"],
        "phone": ["call centre", "branch phone number", "hotline", "branch office line",
                  "number on your website"],
        "msg": ["email", "in-app chat", "WhatsApp", "Instagram DM", "live chat",
                "website contact form"],
        "app": ["app", "mobile banking app", "m-banking", "internet banking",
                "banking app"],
    },
}  # fmt: skip

# type code → language → phrasings. Written as customers write, before the roughing up.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "queue-too-long": {
        "id": [
            "Saya sudah antre {wait} di cabang {place} dan belum dipanggil juga.",
            "Antreannya panjang sekali, menunggu {wait} cuma untuk setor tunai.",
            "Loket yang buka cuma satu, padahal yang antre banyak sekali. Saya menunggu {wait}.",
            "Nomor antrean saya tidak dipanggil-panggil, sudah {wait} saya menunggu.",
            "Kenapa antrean di teller selalu lama? {when} saya sampai {wait} di sana.",
            "Mau ganti buku tabungan saja harus menunggu {wait}, tidak efisien.",
            "Antrean CS lama sekali, nomor saya masih jauh padahal sudah {wait}.",
            "Antre lama banget",
            "nunggu dipanggil {wait} dong",
        ],
        "en": [
            "I waited {wait} in the queue at the {place} branch and still was not called.",
            "The queue was ridiculously long, {wait} just to deposit cash.",
            "Only one counter was open and the line went out the door. I waited {wait}.",
            "My ticket number never got called, I was there for {wait}.",
            "Why is the line always so long? {when} it took me {wait} to reach the teller.",
            "Waiting time way too long",
        ],
    },
    "phone-not-answered": {
        "id": [
            "Saya telepon {phone} {times} kali tapi tidak pernah diangkat.",
            "Sudah {times} kali saya menelepon cabang {place}, nada sambung terus tapi tidak "
            "ada yang angkat.",
            "Telepon ke {phone} cuma dengar musik tunggu {wait}, lalu terputus sendiri.",
            "Nomor cabang yang ada di website tidak aktif, ditelepon tidak pernah dijawab.",
            "{phone} susah sekali dihubungi, selalu sibuk dari {when}.",
            "Telepon tidak diangkat",
            "telpon berkali-kali tidak ada yang jawab",
        ],
        "en": [
            "I called the {phone} {times} times and nobody picked up.",
            "Nobody answers the branch phone. It just rings and rings.",
            "I was on hold for {wait} on the {phone} and then the call dropped.",
            "The phone number on your website is never answered.",
            "Your {phone} is impossible to reach, always busy since {when}.",
            "No one answers the phone",
        ],
    },
    "slow-reply": {
        "id": [
            "Saya kirim {msg} {when} tapi sampai sekarang belum dibalas.",
            "Chat saya cuma dibaca, tidak dibalas sudah {days}.",
            "Balasan email dari CS lama sekali, {days} baru dijawab, itu pun template.",
            "Pertanyaan saya lewat {msg} belum ada jawaban sama sekali.",
            "Respon admin {msg} lambat, saya tanya dari {when} belum ada kabar.",
            "balasan chat lama",
        ],
        "en": [
            "I sent an {msg} message {when} and still have no reply.",
            "My chat message was read but never answered, it has been {days}.",
            "It took {days} to get a reply to my email, and it was just a template.",
            "No response yet to my question on {msg}.",
            "Your {msg} support is so slow to reply.",
        ],
    },
    "wrong-amount": {
        "id": [
            "Uang yang saya terima dari teller kurang {amount}.",
            "Saya tarik tunai {big} tapi setelah dihitung di rumah kurang selembar.",
            "Setoran saya {big} tapi yang masuk ke rekening cuma sebagian.",
            "Kembalian dari kasir salah, kurang {amount}.",
            "Jumlah uang yang dihitung petugas tidak sesuai dengan slip, selisih {amount}.",
            "ATM mengeluarkan uang kurang dari yang saya minta, tapi saldo terpotong penuh.",
            "Uangnya kurang {amount}",
            "Setoran tunai {big} tercatat salah di buku tabungan.",
        ],
        "en": [
            "The teller gave me {amount} less than I withdrew.",
            "I deposited {big} but only part of it shows in my account.",
            "When I counted the cash at home one note was missing.",
            "The amount on the slip does not match the money I received, {amount} short.",
            "The ATM gave me less cash than I asked for but debited the full amount.",
            "Cash was {amount} short",
        ],
    },
    "cheque-delay": {
        "id": [
            "Cek yang saya setor {when} belum cair juga setelah {days}.",
            "Pencairan cek saya terlambat, katanya kliring {days} tapi sampai sekarang belum "
            "masuk.",
            "Giro dari klien saya belum dikliring, padahal sudah {days}.",
            "Dana dari cek {big} belum masuk rekening, saya jadi telat bayar supplier.",
            "Kenapa kliring cek bisa selama {days}?",
            "cek belum cair",
        ],
        "en": [
            "The cheque I deposited {when} still has not cleared after {days}.",
            "Clearing my cheque is taking {days}, I was told it would be two days.",
            "The funds from the cheque are still not in my account and I missed a payment.",
            "Why does cheque clearing take {days} at your bank?",
            "My client's cheque for {big} has been stuck in clearing for {days}.",
        ],
    },
    "unfriendly-staff": {
        "id": [
            "{staff} di loket jutek sekali, ditanya malah cemberut.",
            "Pelayanan {staff} tidak ramah, saya dibentak waktu bertanya.",
            "{staff} melayani sambil main HP dan tidak menatap saya sama sekali.",
            "Sikap {staff} kasar dan tidak sopan, saya merasa direndahkan.",
            "Saya disuruh pergi dengan nada ketus oleh {staff}.",
            "{staff} cuek sekali, tidak ada senyum, tidak ada salam.",
            "petugas tidak ramah",
            "{staff} judes",
        ],
        "en": [
            "The {staff} was rude and rolled her eyes when I asked a question.",
            "Very unfriendly {staff}, he shouted at me in front of other customers.",
            "The {staff} was on her phone the whole time and did not even look at me.",
            "Staff attitude was arrogant and disrespectful.",
            "The {staff} told me to go away in a very unpleasant tone.",
            "Rude {staff}",
        ],
    },
    "wrong-information": {
        "id": [
            "{staff} bilang syaratnya cukup KTP, ternyata harus bawa KK juga, saya bolak-balik.",
            "Informasi dari {phone} beda dengan yang di cabang, saya jadi bingung.",
            "Saya diberi tahu dana masuk hari ini, ternyata salah.",
            "Petugas salah menjelaskan bunga deposito, angkanya beda dengan yang tertulis.",
            "Katanya bisa buka rekening online, ternyata tetap harus datang ke cabang.",
            "{staff} memberi informasi yang salah soal jam buka, saya datang sia-sia.",
            "info yang dikasih salah",
        ],
        "en": [
            "The {staff} told me I only needed my ID card, but then they asked for more documents.",
            "I was given the wrong interest rate for the deposit.",
            "The {phone} said one thing and the branch said another.",
            "I was told the money would arrive today, which was wrong.",
            "The {staff} gave me incorrect opening hours and I came for nothing.",
            "Wrong information given",
        ],
    },
    "unexpected-fee": {
        "id": [
            "Ada {fee} {amount} di rekening saya yang tidak pernah dijelaskan.",
            "Tiba-tiba saldo terpotong {amount} untuk {fee}, saya tidak pernah setuju.",
            "Kenapa ada {fee} padahal katanya gratis?",
            "Saya kena {fee} tiap bulan tanpa pemberitahuan.",
            "Di mutasi ada potongan {amount} yang tidak saya kenal.",
            "kena {fee} tiba-tiba",
        ],
        "en": [
            "There is a {fee} of {amount} on my statement that nobody told me about.",
            "My balance was charged {amount} for a {fee} I never agreed to.",
            "Why am I paying a {fee}? I was told the account was free.",
            "I get charged a {fee} every month without any notice.",
            "An unknown deduction of {amount} appeared on my account.",
        ],
    },
    "app-login": {
        "id": [
            "Saya tidak bisa masuk ke {app}, selalu muncul 'password salah'.",
            "{app} error terus waktu login, padahal password sudah benar.",
            "Akun saya terkunci di {app} setelah salah PIN, reset tidak bisa.",
            "Kode OTP tidak pernah masuk jadi tidak bisa login {app}.",
            "Setelah update {app} saya tidak bisa login sama sekali.",
            "gagal login {app}",
        ],
        "en": [
            "I cannot log in to the {app}, it keeps saying wrong password.",
            "The {app} crashes every time I try to sign in.",
            "My {app} account got locked and the reset does not work.",
            "The OTP code never arrives so I cannot log in.",
            "Since the last update I cannot log in to the {app} at all.",
            "Login not working",
        ],
    },
    "transfer-failed": {
        "id": [
            "Transfer {big} ke rekening lain gagal tapi saldo saya sudah terpotong.",
            "Transfer saya statusnya gagal terus di {app}.",
            "Saya transfer {when} tapi uangnya tidak sampai ke penerima.",
            "Transfer antar bank gagal, dananya belum kembali sampai sekarang.",
            "Sudah coba transfer {times} kali, selalu gagal dengan pesan error.",
            "transfer gagal saldo kepotong",
        ],
        "en": [
            "My transfer of {big} failed but the money left my account.",
            "Transfers keep failing in the {app}.",
            "I sent money {when} but it never reached the recipient.",
            "An interbank transfer failed and the funds have not been returned.",
            "I tried to transfer {times} times and always got an error.",
        ],
    },
    "card-blocked": {
        "id": [
            "Kartu ATM saya tertelan di mesin {place}.",
            "Kartu debit saya tiba-tiba terblokir tanpa alasan.",
            "Kartu saya diblokir setelah salah PIN, padahal baru sekali.",
            "Mesin ATM menelan kartu saya dan tidak ada petugas yang bisa bantu.",
            "Kartu kredit saya tidak bisa dipakai, katanya diblokir sistem.",
            "kartu ketelen ATM",
        ],
        "en": [
            "The ATM at {place} swallowed my card.",
            "My debit card was blocked without any reason.",
            "My card got blocked after one wrong PIN.",
            "The machine kept my card and there was nobody to help.",
            "My card is declined everywhere, apparently it was blocked by the system.",
        ],
    },
    "premises": {
        "id": [
            "Ruang tunggu cabang {place} panas sekali, AC mati.",
            "Toiletnya kotor dan bau.",
            "Cabangnya penuh sesak, tidak ada tempat duduk.",
            "Lantainya kotor dan tempat sampahnya penuh.",
            "Parkirnya sempit dan ruangannya pengap.",
            "ruangan panas, AC tidak nyala",
        ],
        "en": [
            "The waiting area at {place} was very hot, the air conditioning was broken.",
            "The toilet was dirty and smelly.",
            "The branch was overcrowded and there were no seats.",
            "The floor was dirty and the bins were overflowing.",
            "No parking and the room was stuffy.",
        ],
    },
}

# A second grievance, as a clause, by the type it belongs to: added to a complaint of a
# related type now and then, which is what makes real complaints hard to type.
ASIDES: dict[str, dict[str, list[str]]] = {
    "queue-too-long": {"id": ["antreannya juga lama", "harus antre {wait} dulu"],
                       "en": ["and the queue was long too", "after waiting {wait}"]},
    "phone-not-answered": {"id": ["telepon ke cabang juga tidak diangkat"],
                           "en": ["and nobody answered the phone"]},
    "slow-reply": {"id": ["email saya juga belum dibalas"],
                   "en": ["and my email was never answered"]},
    "wrong-amount": {"id": ["uangnya kurang pula"], "en": ["and the cash was short"]},
    "cheque-delay": {"id": ["cek saya juga belum cair"],
                     "en": ["and my cheque has not cleared"]},
    "unfriendly-staff": {"id": ["petugasnya juga jutek", "dilayani dengan ketus"],
                         "en": ["and the staff were rude", "and the teller was unfriendly"]},
    "wrong-information": {"id": ["informasinya juga beda-beda"],
                          "en": ["and I was given wrong information"]},
    "unexpected-fee": {"id": ["malah kena biaya admin"],
                       "en": ["and I was charged a fee for it"]},
    "app-login": {"id": ["aplikasinya juga tidak bisa login"],
                  "en": ["and I cannot log in to the app either"]},
    "transfer-failed": {"id": ["transfernya juga gagal"], "en": ["and my transfer failed"]},
    "card-blocked": {"id": ["kartu saya juga terblokir"], "en": ["and my card got blocked"]},
    "premises": {"id": ["ruangannya panas pula", "tempatnya penuh sesak"],
                 "en": ["and the room was hot", "and it was crowded"]},
}  # fmt: skip

# Complaints about two things at once, which staff type as either (and not always the same
# way): a pair of related types and the phrasings they share.
SHARED: dict[tuple[str, str], dict[str, list[str]]] = {
    ("queue-too-long", "unfriendly-staff"): {
        "id": ["Antre {wait}, sampai di loket malah dilayani dengan ketus.",
               "Sudah menunggu lama, {staff} bukannya minta maaf malah marah-marah."],
        "en": ["Waited {wait} and then the {staff} was rude to me at the counter."],
    },
    ("queue-too-long", "premises"): {
        "id": ["Ruang tunggu penuh sesak, menunggu {wait} sambil berdiri kepanasan."],
        "en": ["Packed waiting room, I stood for {wait} in the heat."],
    },
    ("phone-not-answered", "slow-reply"): {
        "id": ["Susah sekali menghubungi CS, telepon tidak diangkat, chat tidak dibalas."],
        "en": ["Impossible to reach anyone, calls and messages both ignored."],
    },
    ("wrong-amount", "unexpected-fee"): {
        "id": ["Saldo saya berkurang {amount} dan saya tidak tahu untuk apa.",
               "Uang di rekening saya kurang {amount} dari seharusnya."],
        "en": ["My balance is {amount} lower than it should be and nobody can explain."],
    },
    ("transfer-failed", "app-login"): {
        "id": ["{app} error terus, tidak bisa transfer sama sekali."],
        "en": ["The {app} keeps showing an error and I cannot make a transfer."],
    },
    ("wrong-information", "unfriendly-staff"): {
        "id": ["{staff} asal jawab dan tidak mau menjelaskan dengan benar."],
        "en": ["The {staff} just guessed the answer and would not explain properly."],
    },
    ("cheque-delay", "wrong-information"): {
        "id": ["Katanya cek cair 2 hari, ternyata sudah {days} belum cair."],
        "en": ["I was told the cheque clears in two days, it has been {days}."],
    },
    ("card-blocked", "app-login"): {
        "id": ["Kartu dan {app} saya terblokir bersamaan, tidak bisa apa-apa."],
        "en": ["Both my card and my {app} got blocked at the same time."],
    },
    ("unexpected-fee", "wrong-information"): {
        "id": ["Waktu buka rekening katanya tanpa {fee}, ternyata dipotong juga."],
        "en": ["I was told there was no {fee}, but I was charged anyway."],
    },
}  # fmt: skip

# Said of anything: the type came from what staff knew, not from the words.
VAGUE = {
    "id": ["Pelayanan cabang ini jelek sekali.", "Kecewa dengan pelayanan hari ini.",
           "Tolong perbaiki layanan kalian.", "Saya mau komplain soal kejadian {when}."],
    "en": ["Terrible service today.", "Very disappointed with this branch.",
           "I want to complain about what happened {when}."],
}  # fmt: skip

RELATED: dict[str, tuple[str, ...]] = {
    "queue-too-long": ("unfriendly-staff", "premises"),
    "phone-not-answered": ("slow-reply", "queue-too-long"),
    "slow-reply": ("phone-not-answered", "app-login"),
    "wrong-amount": ("unexpected-fee", "unfriendly-staff"),
    "cheque-delay": ("transfer-failed", "wrong-information"),
    "unfriendly-staff": ("queue-too-long", "wrong-information"),
    "wrong-information": ("unfriendly-staff", "unexpected-fee"),
    "unexpected-fee": ("wrong-amount", "wrong-information"),
    "app-login": ("transfer-failed", "slow-reply"),
    "transfer-failed": ("app-login", "unexpected-fee"),
    "card-blocked": ("app-login", "queue-too-long"),
    "premises": ("queue-too-long", "unfriendly-staff"),
}

OPENERS = {
    "id": ["Halo min, ", "Selamat siang. ", "Mau komplain. ", "Tolong ya, ", "Pak, Bu, ",
           "Saya nasabah lama. ", "Permisi, ", "Sore. "],
    "en": ["Hi, ", "Good morning. ", "I want to complain. ", "Hello, ", "Dear bank, ",
           "Complaint: "],
}  # fmt: skip
CLOSERS = {
    "id": ["Tolong diperbaiki.", "Kecewa sekali.", "Parah.", "Mohon ditindaklanjuti.",
           "Bagaimana ini?", "Terima kasih.", "Jangan sampai terulang."],
    "en": ["Please fix this.", "Very disappointed.", "Unacceptable.", "Not happy at all.",
           "Thanks.", "Please look into it."],
}  # fmt: skip
# The other language's words, dropped in: Jakarta code-mixing goes both ways.
MIXED = {
    "id": ["so disappointed", "seriously", "worst service ever", "please", "literally",
           "which is", "honestly"],
    "en": ["parah", "dong", "kok gitu sih", "tolong ya", "aduh", "ya ampun"],
}  # fmt: skip
PARTICLES = ["dong", "sih", "deh", "nih", "kok", "lho", "ya"]

# Written Indonesian → what people type; each occurrence switches with the text's slang
# level as probability.
INDONESIAN_SLANG: dict[str, list[str]] = {
    "tidak": ["gk", "ga", "gak", "nggak", "tdk", "ngga"],
    "sekali": ["bgt", "banget", "bgt", "sekali"],
    "banget": ["bgt"],
    "yang": ["yg"],
    "sudah": ["udh", "udah", "sdh", "dah"],
    "saya": ["sy", "aku", "gw", "aq"],
    "dengan": ["dgn", "dg"],
    "belum": ["blm", "belom"],
    "karena": ["krn", "karna"],
    "terus": ["trs", "trus"],
    "bisa": ["bs"],
    "untuk": ["utk"],
    "juga": ["jg"],
    "tapi": ["tp", "tpi"],
    "sampai": ["sampe"],
    "lagi": ["lg"],
    "antre": ["antri"],
    "antrean": ["antrian"],
    "menunggu": ["nunggu"],
    "telepon": ["telp", "tlp", "telpon"],
    "transfer": ["tf", "trf"],
    "rekening": ["rek"],
    "aplikasi": ["apk", "aplikasi"],
    "cuma": ["cm", "cuman"],
    "sekarang": ["skrg"],
    "kemarin": ["kmrn"],
    "lama": ["lamaaa", "lama bgt", "lama"],
    "padahal": ["pdhl"],
    "bagaimana": ["gimana", "gmn"],
    "menit": ["mnt"],
    "kasar": ["kasar bgt"],
}
ENGLISH_CHAT: dict[str, list[str]] = {
    "you": ["u"],
    "your": ["ur"],
    "please": ["pls", "plz"],
    "cannot": ["cant", "can't"],
    "minutes": ["mins"],
    "thanks": ["thx"],
    "because": ["bc", "coz"],
}

REMEDIES = {
    "id": ["Minta maaf", "Uang saya dikembalikan", "Biayanya dibatalkan",
           "Tolong ditelepon balik", "Kartu saya dikembalikan", "Petugasnya ditegur",
           "Loket ditambah", "Penjelasan tertulis", "Kompensasi", ""],
    "en": ["An apology", "My money back", "Refund the fee", "Call me back",
           "Return my card", "Speak to the teller", "Open more counters",
           "A written explanation", "Compensation", ""],
}  # fmt: skip
