"""Person names by origin for the redaction evaluation, written by hand (not drawn from the detector's lists).

Each origin has given names and family names as people of that origin write them in Latin
letters at work (an English-speaking workplace): common names and less common ones, with their
usual accents, hyphens and particles. The detector's name lists come from other sources
(``streams.core.redaction.namebook``); how many of these names they happen to contain is
reported beside the recall, so what is found by lookup and what by context stays visible.
"""

from __future__ import annotations

ORIGINS: dict[str, tuple[str, str]] = {
    "West African": (
        "Oluwadamilare Blessing Chukwuemeka Ngozi Adebayo Folasade Kwame Akosua Yaw Abena Kofi Efua Ibrahim Aminata "
        "Mamadou Fatoumata Oluwaseun Chiamaka Emeka Adaeze Babajide Temitope Kojo Nana Seun Ifeoma Obinna Modupe",
        "Ogunleye Okonjo Adeyemi Okafor Mensah Asante Boateng Owusu Diallo Traoré Keita Ouédraogo Nwosu Eze "
        "Adewale Obi Appiah Danquah Coulibaly Sow",
    ),
    "East African": (
        "Wanjiru Kamau Achieng Otieno Njeri Kiprono Chebet Mwangi Amani Baraka Neema Zawadi Tesfaye Selam Abebe "
        "Meron Dawit Hiwot Mekdes Yohannes Nyambura Wambui Jabari Imani Kibet",
        "Kamau Odhiambo Kipchoge Mutua Wafula Njoroge Ochieng Kiptoo Tadesse Bekele Haile Girma Mwakasege Nyerere "
        "Musoke Ssempala Kariuki Omondi",
    ),
    "South Asian": (
        "Priya Aarav Ananya Rohan Lakshmi Venkatesh Sai Deepika Harpreet Gurpreet Sandeep Kavya Arjun Meenakshi "
        "Sanjay Nandini Rahul Shreya Imran Ayesha Tahmina Farhan Nirmala Dilshan Chathurika Pradeep",
        "Sharma Patel Iyer Reddy Subramanian Krishnan Gupta Chatterjee Banerjee Singh Gill Sandhu Nair Menon "
        "Rahman Chowdhury Hossain Perera Fernando Jayawardena Khan Qureshi Bhattacharya",
    ),
    "East Asian": (
        "Ji-woo Seo-yeon Min-jun Hyun-woo Ji-ho Soo-ah Yuki Haruto Sakura Yuto Aoi Takeshi Kenji Hiroshi Mei Wei "
        "Xiaoming Jing Yiming Zhiwei Xinyi Hao Jiayi Yuna Daiki Hana",
        "Kim Lee Park Choi Jung Kang Cho Yoon Tanaka Suzuki Takahashi Watanabe Yamamoto Nakamura Wang Zhang Liu "
        "Chen Huang Zhou Wu Xu Sun Nakagawa",
    ),
    "Southeast Asian": (
        "Hai Duc Minh Anh Thanh Huong Quang Linh Somchai Siriporn Nattapong Kanya Ploy Budi Siti Agus Dewi "
        "Wayan Putu Rizal Maricel Jericho Rowena Aung Thida Khin",
        "Nguyen Tran Pham Le Hoang Phan Vu Dang Srisuk Chaiyaporn Wongsawat Rattanakorn Santoso Wijaya Hidayat "
        "Kusuma Setiawan Reyes Santos Bautista Dela Cruz Tun Aung",
    ),
    "Central Asian": (
        "Aigerim Nurlan Bakhyt Dilnoza Alisher Timur Gulnara Yerlan Aizhan Askar Saule Daulet Madina Rustam "
        "Farrukh Zarina Jamshid Shahnoza Bekzod Nodira Azamat Cholpon Tolkun Aibek Gulzhan",
        "Nurlanovna Abdullaev Karimov Tashkentova Seitkali Zhaksybekov Ospanov Nazarbayeva Yusupov Rakhimova "
        "Mirzaev Tokhtarov Akhmetov Bekova Dzhumabaev Sultanov Kassymova Ismoilov",
    ),
    "Middle Eastern": (
        "Mohammed Fatima Ahmad Layla Omar Noor Yousef Mariam Khalid Rania Hassan Zainab Tariq Nasrin Reza "
        "Shirin Dariush Farah Samir Huda Amir Leila Walid Yasmin Karim",
        "Al-Hashimi Haddad Khoury Nasser Hamdan Saleh Abdallah Rahimi Hosseini Karimi Tehrani Mansour "
        "El-Sayed Aziz Barakat Farouk Jaber Rashidi Qasim",
    ),
    "Turkish": (
        "Mehmet Ayşe Mustafa Elif Emre Zeynep Burak Büşra Oğuz Gökhan Şule Hakan Cemre Ilkay Tuğba Serkan "
        "Deniz Ebru Kerem Ozan Yağmur Volkan Merve",
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin "
        "Kara Koç Kurt Özkan Şimşek",
    ),
    "Slavic": (
        "Pavel Jiří Vojtěch Tereza Lucie Kateřina Ondřej Zuzana Piotr Agnieszka Małgorzata Krzysztof Wojciech "
        "Dmitri Olga Svetlana Aleksandr Oksana Bohdan Milica Dragan Jelena Nikola Vesna Radek",
        "Novák Dvořák Svoboda Procházka Kučerová Kowalski Wiśniewska Wójcik Zieliński Ivanov Petrova Smirnov "
        "Kovalenko Shevchenko Jovanović Petrović Horvat Kovačević Popescu Nowak",
    ),
    "Latin American": (
        "Alejandro Guadalupe Ximena Santiago Valentina Mateo Camila Joaquín Renata Thiago Luana Gabriela "
        "Rodrigo Marisol Itzel Yesenia Esteban Florencia Jhon Leidy Maximiliano Nayeli Wilmer Yuliana",
        "González Rodríguez Hernández López Martínez Pérez Ramírez Flores Quispe Mamani Silva Oliveira Souza "
        "Carvalho Gutiérrez Vargas Castillo Morales Mendoza Ríos",
    ),
    "Pacific": (
        "Tevita Sione Mele Losana Fetu Lanakila Keoni Leilani Kalani Malia Sefo Tamati Aroha Wiremu Hine "
        "Mereana Rawiri Ana Viliami Salote Iosefa Talia Pita Tui Moana",
        "Fifita Tupou Havili Tuilagi Faleolo Kealoha Kahananui Nakoa Ngata Parata Tipene Waaka Tuiasosopo "
        "Vainikolo Raikadroka Naivalu Matagi Leota",
    ),
    "Nordic": (
        "Sigrid Astrid Solveig Ingrid Bjørn Håkon Sindre Eirik Freja Søren Magnus Linnea Elsa Oskar Aino "
        "Eero Ilmari Kerttu Sigrún Guðmundur Þóra Halldór Maja Jonatan",
        "Johansson Lindqvist Bergström Nilsson Hansen Johannessen Haugland Østergaard Kristiansen Virtanen "
        "Korhonen Mäkinen Nieminen Jónsdóttir Sigurðsson Halvorsen Lund Andersen",
    ),
    "Western European": (
        "Émilie Thibault Margaux Gaëlle Lukas Jannik Friederike Matthias Giulia Lorenzo Chiara Beatriz Inês "
        "Joana Siobhán Niamh Ciarán Fenna Daan Sanne Maarten Aurélien Clémence Benedikt Wiebke",
        "Dubois Lefèvre Rousseau Müller Schneider Fischer Weber Rossi Bianchi Esposito Ferreira Costa "
        "O'Sullivan Ní Bhriain van der Berg de Jong Jansen Vermeulen Keller Brunner",
    ),
}


# Capitalised words that look like names and are not: UI labels, streets, months, places, products, teams.
NON_NAMES = (
    "Grant Access",
    "Will Smith Street",
    "Mark as Read",
    "Bill Pay - Online Banking",
    "May Release Notes - Confluence",
    "June Planning",
    "the August Newsletter is out",
    "Hope Street Clinic",
    "Victoria Station, platform 4",
    "Lagos Office wifi",
    "New Delhi Office",
    "flights to Abu Dhabi",
    "Santa Clara campus",
    "Microsoft Teams",
    "Visual Studio Code",
    "Google Sheets - Budget",
    "Adobe Acrobat Reader",
    "Power BI Desktop",
    "Jira Service Management",
    "Dear Customer, your order has shipped",
    "Hi Team, the release is out",
    "Hi All,",
    "meeting with Finance at noon",
    "From: Accounts Payable",
    "cc Legal",
    "Sprint Review",
    "Merge Request !42",
    "Open Recent",
    "Save As...",
    "Amazon Web Services",
    "Kafka Connect cluster",
    "Monday Standup",
    "Christmas Party RSVP",
    "Diwali Lunch",
    "Tokyo Office",
    "Nairobi Hub",
    "Sunday Brunch",
    "Washington Street entrance",
    "Lincoln Tunnel traffic",
    "Georgia Tech alumni",
    "Jordan Valley Hospital",
    "Ramadan working hours",
    "Chase Bank statement",
    "Grace Period ends Friday",
    "Rose Garden Room",
    "Summer Sale",
    "Blessing of the new office",
    "Apple Music",
    "Golden Gate Bridge",
    "Table of Contents",
)


def given(origin: str) -> list[str]:
    return ORIGINS[origin][0].split()


def family(origin: str) -> list[str]:
    """Family names; "van der Berg" and "Dela Cruz" stay whole."""
    words, out = ORIGINS[origin][1].split(), []
    joiners = {"van", "der", "de", "Dela", "Ní"}
    for w in words:
        if out and out[-1].split()[-1] in joiners:
            out[-1] += " " + w
        else:
            out.append(w)
    return out
